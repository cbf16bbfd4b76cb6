#!/usr/bin/env bash
# `npm run dev`: the collector on the embedded local stack, with demo traffic. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
exec node --import tsx scripts/dev-stack.ts
