#!/usr/bin/env python3
"""Fails if a C++ file of the tree is not in clang-format's layout.

Usage: format_check.py SOURCE_DIR. The layout is .clang-format's; fix with
`clang-format -i FILE` (every file: scripts/format.sh).
"""

import pathlib
import subprocess
import sys

DIRS = ("src", "tests", "fuzz", "bench")


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    files = sorted(str(p) for d in DIRS for p in (root / d).rglob("*") if p.suffix in (".cc", ".h"))
    bad = []
    for i in range(0, len(files), 50):
        r = subprocess.run(["clang-format", "--dry-run", "--Werror", *files[i:i + 50]],
                           capture_output=True, text=True)
        for line in r.stderr.splitlines():
            if ": error: " in line:
                name = line.split(":", 1)[0]
                if name not in bad:
                    bad.append(name)
    for name in bad:
        print(f"not in clang-format's layout: {pathlib.Path(name).relative_to(root)}")
    if bad:
        print(f"{len(bad)} files; fix with: clang-format -i FILE...   (all: bash scripts/format.sh)")
        return 1
    print(f"format: {len(files)} files in clang-format's layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
