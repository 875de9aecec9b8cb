#!/usr/bin/env bash
# Runs the Signal Protocol interop test: installs the Node peer's npm
# dependencies if they are missing, then starts the C++ driver, which spawns
# the peer. Fails if Node, npm or the peer cannot be reached.
# Usage: tests/interop/run_interop.sh PATH/TO/crypto_interop_test
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
driver="${1:?usage: run_interop.sh PATH/TO/crypto_interop_test}"
bash "$here/install_peer.sh"
exec "$driver" "$here/signal_peer.cjs"
