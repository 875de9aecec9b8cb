#!/usr/bin/env bash
# Puts every C++ file in clang-format's layout (.clang-format). CI checks it
# (style.format).
set -euo pipefail
cd "$(dirname "$0")/.."
find src tests fuzz bench \( -name '*.cc' -o -name '*.h' \) -print0 | xargs -0 clang-format -i
