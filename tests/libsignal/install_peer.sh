#!/usr/bin/env bash
# Installs libsignal's Node binding (pinned by package-lock.json) into
# tests/libsignal/node_modules unless it is already there. Fails if Node or
# npm is missing or the registry cannot be reached.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
marker=node_modules/@signalapp/libsignal-client/package.json
if [ ! -f "$marker" ]; then
  # A lock file keeps concurrent test runs from installing twice at once.
  exec 9>.npm-install.lock
  flock 9
  [ -f "$marker" ] || npm ci --no-audit --no-fund --loglevel=error >&2
fi
