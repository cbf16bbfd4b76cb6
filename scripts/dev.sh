#!/usr/bin/env bash
# `npm run dev`: the collector on the embedded local stack, with demo traffic. Ctrl-C stops it.
# Everything the stack writes (Temporal's database, Redis's data, the service logs) goes to one
# temporary folder, removed when the stack has stopped, however this script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh

scratch=$(mktemp -d "${TMPDIR:-/tmp}/seqflow-dev.XXXXXX")
trap 'rm -rf -- "$scratch"' EXIT
# The stack makes its folders with os.tmpdir(), which is TMPDIR.
TMPDIR="$scratch" node --import tsx scripts/dev-stack.ts &
stack=$!
# Ctrl-C reaches the stack itself (same process group), which stops its services and exits; a
# TERM or HUP sent to this script alone is passed on. Either way, wait for the stack to finish
# stopping before the folder is removed: a trapped signal interrupts `wait` (status > 128) while
# the stack may still be stopping.
trap 'kill -TERM "$stack" 2>/dev/null || true' TERM HUP
trap ':' INT
while :; do
  wait "$stack" && status=0 || status=$?
  [ "$status" -gt 128 ] && kill -0 "$stack" 2>/dev/null || break
done
exit "$status"
