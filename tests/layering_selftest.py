#!/usr/bin/env python3
"""Proves that tests/layering_test.py catches what it promises: on a copy of
the tree, a forbidden include, a forbidden link, a test's forbidden link, SQL
naming another component's table, a header outside a narrowed edge, and an
exception that no longer occurs must each fail it with the right message.

Usage: layering_selftest.py SOURCE_DIR
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(root):
    p = subprocess.run([sys.executable, os.path.join(HERE, "layering_test.py"), root],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def edit(root, path, pattern, replacement):
    full = os.path.join(root, path)
    with open(full, encoding="utf-8") as f:
        text = f.read()
    new, n = re.subn(pattern, replacement, text, count=1, flags=re.M)
    if n != 1:
        raise SystemExit(f"selftest: {pattern!r} not found in {path}")
    with open(full, "w", encoding="utf-8") as f:
        f.write(new)


CASES = [
    ("a forbidden include",
     [("src/relay/directory.cc", r'^#include "relay/directory.h"$', '\\g<0>\n#include "ads/ads_service.h"')],
     'src/relay/directory.cc:3: relay includes "ads/ads_service.h": `ads` is not in relay\'s "may depend on"'),
    ("a forbidden link",
     [("src/relay/CMakeLists.txt", r"PRIVATE tandem_phone", "PRIVATE tandem_social tandem_phone")],
     "target tandem_relay of relay links tandem_social: `social` is not in relay's \"may depend on\""),
    ("a test's forbidden link",
     [("src/client/CMakeLists.txt", r"LIBS tandem_client ", "LIBS tandem_client tandem_ads ")],
     "test target client_test of client links tandem_ads: `ads` is not in client's"),
    ("SQL naming another component's table",
     [("src/client/client_store.cc", r'FROM settings WHERE', "FROM envelopes WHERE")],
     "client names table envelopes, owned by relay (not listed in"),
    ("a header outside a narrowed edge",
     [("src/ads/serving.cc", r'^#include "social/social_service.h"$', '\\g<0>\n#include "social/suggestions.h"')],
     'ads includes "social/suggestions.h": of `social` it may include only'),
    ("an exception that no longer occurs",
     [("tests/layering_exceptions.txt", r"\Z", "client sessions a stale entry\n")],
     "client no longer names sessions: remove this exception"),
]


def main():
    source = os.path.abspath(sys.argv[1])
    code, out = run(source)
    if code != 0:
        print(out)
        print("selftest: the tree itself fails the layering test")
        return 1
    failed = 0
    for name, edits, expected in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            for part in ("src", "docs"):
                shutil.copytree(os.path.join(source, part), os.path.join(tmp, part))
            os.makedirs(os.path.join(tmp, "tests"))
            shutil.copy(os.path.join(source, "tests", "layering_exceptions.txt"), os.path.join(tmp, "tests"))
            for path, pattern, replacement in edits:
                edit(tmp, path, pattern, replacement)
            code, out = run(tmp)
            if code == 1 and expected in out:
                print(f"ok: {name}")
            else:
                failed += 1
                print(f"FAILED: {name}: exit {code}, expected {expected!r} in:\n{out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
