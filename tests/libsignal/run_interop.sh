#!/usr/bin/env bash
# Runs the interop test against libsignal itself: installs the Node binding
# if it is missing, then starts the C++ driver, which spawns the peer.
# Usage: tests/libsignal/run_interop.sh PATH/TO/crypto_interop_test
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
driver="${1:?usage: run_interop.sh PATH/TO/crypto_interop_test}"
bash "$here/install_peer.sh"
exec "$driver" --libsignal "$here/libsignal_peer.cjs"
