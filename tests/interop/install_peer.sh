#!/usr/bin/env bash
# Installs the interop peer's npm dependencies (pinned by package-lock.json)
# into tests/interop/node_modules unless they are already there.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
if [ ! -f node_modules/@privacyresearch/libsignal-protocol-typescript/package.json ]; then
  # A lock file keeps concurrent test runs from installing twice at once.
  exec 9>.npm-install.lock
  flock 9
  if [ ! -f node_modules/@privacyresearch/libsignal-protocol-typescript/package.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
fi
