#!/usr/bin/env bash
# `npm test`: provisions what is missing, lints, type-checks, then runs every test on real
# services. One Temporal dev server serves the whole run; each test file starts its own
# Hardhat node, redis-server, relayer stand-in and worker processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh

npx eslint .
npx tsc --noEmit -p .

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
scratch=$(mktemp -d)
# seqflow's search attributes (src/workflows/search-attributes.ts): the worker refuses to start without them.
.tools/bin/temporal server start-dev --ip 127.0.0.1 --port "$port" --headless --log-level warn \
  --db-filename "$scratch/temporal.sqlite" --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF \
  --search-attribute MarketAddress=Keyword --search-attribute EpochId=Keyword \
  --search-attribute Day=Keyword --search-attribute SeqflowStatus=Keyword \
  --dynamic-config-value system.enableActivityEagerExecution=true \
  >"$scratch/temporal.log" 2>&1 &
temporal_pid=$!
trap 'kill $temporal_pid 2>/dev/null; wait $temporal_pid 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 1 100); do
  .tools/bin/temporal operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.2
done
export SEQFLOW_TEST_TEMPORAL_ADDRESS="127.0.0.1:$port"

# Node 20 does not expand globs itself: the shell does.
node --import tsx --test --test-concurrency=3 --test-timeout=300000 \
  test/unit/*.test.ts test/api/*.test.ts test/activities/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts test/replay/*.test.ts
