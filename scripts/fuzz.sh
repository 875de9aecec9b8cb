#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer: scripts/fuzz.sh TARGET [SECONDS]
# New interesting inputs are written to fuzz/corpus/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-60}
bash scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build/libfuzzer -G Ninja -DTANDEM_LIBFUZZER=ON -DTANDEM_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/libfuzzer --target "$target"
mkdir -p "fuzz/corpus/$target"
"build/libfuzzer/fuzz/$target" -max_total_time="$seconds" "fuzz/corpus/$target"
