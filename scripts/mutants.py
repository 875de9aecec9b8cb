#!/usr/bin/env python3
"""Mutation check: do the tests notice when a promise is broken?

Each entry of scripts/mutants.toml is one small change to the source that
breaks one promise tandem makes (a purpose check removed, a commit made
after the acknowledgement, a limit made huge...). This script copies the
working tree to a scratch directory, builds it once, then applies the
mutants one at a time, rebuilds incrementally, runs the tests and reports
which mutants were caught (some test failed) and which survived (every test
passed: a promise no test would notice breaking).

    scripts/mutants.py                 # every mutant, the tests its entry names
    scripts/mutants.py --full          # every mutant, the whole optimized suite
    scripts/mutants.py relay-ack-owner feed-cursor-separate   # some of them
    scripts/mutants.py --list

Exit status: 0 when every mutant run was caught; 1 when one survived, no
longer applies (the code it mutates has changed: update its entry) or did
not build. It is not part of scripts/test.sh: a run rebuilds the tree once
per mutant. Run it before a release and whenever a change adds a promise
(add the promise's mutant to scripts/mutants.toml in the same change).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load(path):
    with open(path, "rb") as f:
        entries = tomllib.load(f)["mutant"]
    seen = set()
    for e in entries:
        for key in ("name", "promise", "file", "find", "replace", "tests"):
            if key not in e:
                sys.exit(f"mutants.toml: entry {e.get('name', '?')} lacks '{key}'")
        if e["name"] in seen:
            sys.exit(f"mutants.toml: '{e['name']}' appears twice")
        seen.add(e["name"])
    return entries


def copy_tree(dest):
    """Copies the tracked and untracked-but-not-ignored files of the checkout."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        src = ROOT / name.decode()
        if not src.is_file():
            continue
        dst = dest / name.decode()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            # A fresh mtime: the checkout's may be older than the scratch
            # build's objects, and ninja would not rebuild the file.
            shutil.copyfile(src, dst)
            shutil.copymode(src, dst)


def run(cmd, cwd, log, timeout=None):
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            out.write(b"\n(timed out)\n")
            return 124


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="mutants to run (default: all)")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--full", action="store_true", help="run the whole optimized test suite for each mutant")
    ap.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp") + "/tandem-mutants",
                    help="scratch directory (kept between runs, so rebuilds are incremental)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    entries = load(ROOT / "scripts" / "mutants.toml")
    if args.list:
        for e in entries:
            print(f"{e['name']:32} {e['promise']}")
        return 0
    if args.names:
        unknown = set(args.names) - {e["name"] for e in entries}
        if unknown:
            sys.exit("unknown mutant: " + ", ".join(sorted(unknown)))
        entries = [e for e in entries if e["name"] in args.names]

    work = Path(args.work)
    src = work / "src-tree"
    build = src / "build" / "release"  # where scripts/test.sh builds, so ccache shares its objects
    log = work / "mutants.log"
    work.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    copy_tree(src)
    env_note = f"scratch tree {src}, log {log}"
    os.environ["CCACHE_BASEDIR"] = str(src)
    os.environ["CCACHE_NOHASHDIR"] = "1"
    print(f"mutants: {len(entries)} to run; {env_note}", flush=True)
    if run(["cmake", "-S", str(src), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            "-DTANDEM_BENCH=OFF"], src, log) != 0:
        sys.exit(f"mutants: cmake failed; see {log}")
    if run(["cmake", "--build", str(build), "-j", str(args.jobs)], src, log) != 0:
        sys.exit(f"mutants: the unmutated tree does not build; see {log}")

    def ctest(regex):
        cmd = ["ctest", "--test-dir", str(build), "-j", str(args.jobs), "--timeout", "600"]
        if not args.full:
            cmd += ["-R", regex]
        return run(cmd, src, log)

    # The selected tests must pass before anything is mutated, or a
    # "caught" would mean nothing.
    baseline = "|".join(f"({e['tests']})" for e in entries)
    if ctest(baseline) != 0:
        sys.exit(f"mutants: tests fail on the unmutated tree; see {log}")

    results = []
    for e in entries:
        path = src / e["file"]
        original = path.read_text()
        start = time.time()
        count = original.count(e["find"])
        if count != 1:
            results.append((e, "STALE", f"its text appears {count} times in {e['file']}", 0))
            continue
        path.write_text(original.replace(e["find"], e["replace"]))
        try:
            if run(["cmake", "--build", str(build), "-j", str(args.jobs)], src, log) != 0:
                results.append((e, "NO BUILD", "the mutant does not compile", time.time() - start))
                continue
            rc = ctest(e["tests"])
            outcome = "caught" if rc != 0 else "SURVIVED"
            results.append((e, outcome, "", time.time() - start))
        finally:
            path.write_text(original)
            # An older mtime than the mutant's would let ninja skip the rebuild.
            os.utime(path, None)
        print(f"  {e['name']:32} {results[-1][1]}", flush=True)

    run(["cmake", "--build", str(build), "-j", str(args.jobs)], src, log)
    print()
    print(f"{'mutant':32} {'result':9} {'s':>5}  promise")
    for e, outcome, note, seconds in results:
        print(f"{e['name']:32} {outcome:9} {seconds:5.0f}  {e['promise']}" + (f" ({note})" if note else ""))
    bad = [r for r in results if r[1] != "caught"]
    print(f"\n{len(results) - len(bad)} of {len(results)} mutants caught" +
          ("" if not bad else f"; not caught: {', '.join(r[0]['name'] for r in bad)}"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
