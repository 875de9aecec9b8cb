#!/usr/bin/env python3
"""Runs clang-tidy (the checks of .clang-tidy) over tandem's sources.

Scope: with tests/tidy_baseline.txt (a commit), the files changed since that
commit (a header's change brings its .cc and _test.cc); without it, all.

Usage: tidy_check.py SOURCE_DIR BUILD_DIR

A file passes once clang-tidy reports nothing for it. Passes are remembered
in a cache (~/.cache/tandem-tidy, or $TANDEM_TIDY_CACHE) under a key made of
clang-tidy's version, .clang-tidy, the compile command, and the contents of
the file and of every project header it includes (from ninja's dependency
log), so an unchanged file is not checked again. Files that are not in the
cache are checked newest first (by the time of their last commit), which
puts the files a change touched at the front, and no new file is started
once $TANDEM_TIDY_BUDGET_S seconds (default 900) have passed: a cold cache
fills over a few runs, while every change is checked in the run that tests
it. Exit status 1 if any checked file has a finding.
"""

import concurrent.futures
import hashlib
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time


def ninja_deps(build_dir):
    """Maps each object file to the headers it included (ninja -t deps)."""
    out = subprocess.run(["ninja", "-C", str(build_dir), "-t", "deps"], capture_output=True, text=True,
                         check=True).stdout
    deps, current = {}, None
    for line in out.splitlines():
        if not line.strip():
            current = None
        elif not line.startswith(" "):
            current = line.split(":", 1)[0]
            deps[current] = []
        elif current is not None:
            deps[current].append(line.strip())
    return deps


def commit_times(source_dir):
    """Unix time of the last commit that touched each file (0 if unknown)."""
    times = {}
    try:
        out = subprocess.run(["git", "-C", str(source_dir), "log", "--format=@%ct", "--name-only"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return times
    stamp = 0
    for line in out.splitlines():
        if line.startswith("@"):
            stamp = int(line[1:])
        elif line and line not in times:
            times[line] = stamp
    return times


def changed_since_baseline(source_dir):
    """Files that differ from the commit in tests/tidy_baseline.txt (a header
    brings the sources beside it); None (check everything) when there is no
    baseline. Without git, nothing is in scope."""
    baseline = source_dir / "tests" / "tidy_baseline.txt"
    if not baseline.exists():
        return None
    commit = baseline.read_text().split()[0]
    def git(*args):
        return subprocess.run(["git", "-C", str(source_dir), *args], capture_output=True, text=True,
                              check=True).stdout.split()

    try:
        try:
            diff = git("diff", "--name-only", commit, "--")
        except subprocess.CalledProcessError:
            # A shallow clone may not hold the baseline: the last commit's
            # files, then, or none.
            print(f"tidy: baseline {commit[:12]} is not in this clone; checking the last commit's files")
            try:
                diff = git("diff", "--name-only", "HEAD~1", "--")
            except subprocess.CalledProcessError:
                diff = []
        new = git("ls-files", "--others", "--exclude-standard")
    except OSError:
        return set()
    files = set(diff) | set(new)
    # A changed header puts the sources beside it in scope too.
    for f in list(files):
        if f.endswith(".h"):
            files.add(f[:-2] + ".cc")
            files.add(f[:-2] + "_test.cc")
    return files


def main():
    source_dir = pathlib.Path(sys.argv[1]).resolve()
    build_dir = pathlib.Path(sys.argv[2]).resolve()
    budget = float(os.environ.get("TANDEM_TIDY_BUDGET_S", "900"))
    cache = pathlib.Path(os.environ.get("TANDEM_TIDY_CACHE", pathlib.Path.home() / ".cache" / "tandem-tidy"))
    cache.mkdir(parents=True, exist_ok=True)

    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True, check=True).stdout
    config = (source_dir / ".clang-tidy").read_bytes()
    commands = json.loads((build_dir / "compile_commands.json").read_text())
    # clang-tidy reads the sources with clang, which cannot load GCC's
    # precompiled headers: it gets the commands without them (the headers
    # are still included textually).
    tidy_db = pathlib.Path(tempfile.mkdtemp(prefix="tandem-tidy-"))
    stripped = []
    for entry in commands:
        e = dict(entry)
        args = shlex.split(e.pop("command")) if "command" in e else list(e["arguments"])
        out, skip = [], False
        for a in args:
            if skip:
                skip = False
                if a.endswith("cmake_pch.hxx"):
                    continue
                out += ["-include", a]
                continue
            if a == "-include":
                skip = True
                continue
            if a == "-Winvalid-pch":
                continue
            out.append(a)
        e["arguments"] = out
        stripped.append(e)
    (tidy_db / "compile_commands.json").write_text(json.dumps(stripped))
    deps = ninja_deps(build_dir)
    times = commit_times(source_dir)

    changed = changed_since_baseline(source_dir)
    jobs, cached, unchanged = [], 0, 0
    for entry in commands:
        src = pathlib.Path(entry["file"]).resolve()
        try:
            rel = src.relative_to(source_dir)
        except ValueError:
            continue  # generated (protobuf) sources live in the build tree
        if rel.parts[0] not in ("src", "tests", "fuzz", "bench") or src.suffix != ".cc":
            continue
        if changed is not None and str(rel) not in changed:
            unchanged += 1
            continue
        key = hashlib.sha256()
        key.update(version.encode())
        key.update(config)
        # The checkout's and build's locations are left out, so that another
        # clone of the same sources shares the cache.
        command = entry.get("command", " ".join(entry.get("arguments", [])))
        command = command.replace(str(build_dir), "<build>").replace(str(source_dir), "<src>")
        key.update(command.encode())
        key.update(src.read_bytes())
        output = entry.get("output", "")
        # Without ninja's record of the headers (a file not built yet), a
        # pass cannot be keyed on them: it is checked but not remembered.
        cacheable = bool(deps.get(output))
        for header in deps.get(output, []):
            path = (build_dir / header).resolve() if not os.path.isabs(header) else pathlib.Path(header)
            if source_dir in path.parents and path.exists():
                key.update(str(path.relative_to(source_dir)).encode())
                key.update(path.read_bytes())
        digest = key.hexdigest()
        if (cache / digest).exists():
            cached += 1
            continue
        jobs.append((times.get(str(rel), 0), str(rel), src, digest if cacheable else None))
    # Newest first; the same file may be compiled into several targets.
    jobs.sort(key=lambda j: (-j[0], j[1]))

    start = time.monotonic()
    failed, checked, skipped = [], 0, 0

    def run(job):
        _, rel, src, digest = job
        if time.monotonic() - start > budget:
            return rel, None
        # Boost 1.74's Asio recognizes C++20 coroutines in GCC only; clang
        # has them too (with libstdc++'s <coroutine>).
        r = subprocess.run(["clang-tidy", "-p", str(tidy_db), "--quiet",
                            "--extra-arg=-Wno-unknown-warning-option",
                            "--extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1",
                            "--extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1", str(src)],
                           capture_output=True, text=True)
        findings = [line for line in r.stdout.splitlines() if ": warning: " in line or ": error: " in line]
        if r.returncode == 0 and not findings:
            if digest:
                (cache / digest).write_text(rel + "\n")
            return rel, ""
        return rel, r.stdout + r.stderr

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for rel, result in pool.map(run, jobs):
            if result is None:
                skipped += 1
            elif result:
                failed.append(rel)
                print(f"== {rel}\n{result}")
            else:
                checked += 1
    took = time.monotonic() - start
    print(f"tidy: {checked + len(failed)} files checked in {took:.0f} s, {len(failed)} with findings, "
          f"{cached} unchanged since a clean check, {unchanged} unchanged since the baseline, "
          f"{skipped} left for the next run "
          f"(budget {budget:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
