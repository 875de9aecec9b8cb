#!/usr/bin/env bash
# Times a cold optimized build of COMMIT (default HEAD): a clean checkout, a
# fresh build directory, no compiler cache. Prints wall, user and sys time.
# To compare two commits under the same load, run both at once:
#   bench/cold_build.sh OLD & bench/cold_build.sh NEW; wait
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$root" rev-parse --short "${1:-HEAD}")
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/src" "$commit" >/dev/null 2>&1
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
CCACHE_DISABLE=1 /usr/bin/time -f "cold build of $commit: %e s wall, %U s user, %S s sys" \
  ninja -C "$work/build" -j "$(nproc)" >/dev/null
