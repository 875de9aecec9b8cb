#!/usr/bin/env bash
# Installs what is missing, builds tandem and starts it on its embedded
# default: every service in one process, SQLite files under ./data.
# Extra arguments go to `tandemd serve` (e.g. --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# Configure once; later runs only build what changed.
if [[ ! -f build/release/CMakeCache.txt ]]; then
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build/release -j "$(nproc)" --target tandemd tandem
echo "tandem: starting (127.0.0.1:8080 unless --listen says otherwise; data in ./data); the client is build/release/src/app/tandem" >&2
exec build/release/src/app/tandemd serve --data-dir data "$@"
