#!/usr/bin/env python3
"""Real time and real randomness are chosen in app/ only.

Usage: real_time_test.py SOURCE_DIR [ALLOWED_FILE]

Everything below app/ takes a Clock& and a Random& (common/clock.h,
common/random.h), so that tests drive time and randomness. This test reads
every non-test source under src/ outside app/ and testing/ and fails on a
use of the real clock, sleeping or the OS's randomness that
tests/real_time_allowed.txt does not list (path, pattern and why). A listed
use that is no longer there fails too, so the list only shrinks.
"""

import pathlib
import re
import sys

# What reads the real clock, sleeps on real time, or draws real randomness.
PATTERNS = {
    "SystemClock::Real": r"\bSystemClock::Real\(\)",
    "SecureRandom::Instance": r"\bSecureRandom::Instance\(\)",
    "steady_clock": r"\bsteady_clock\b",
    "system_clock": r"\bsystem_clock\b",
    "high_resolution_clock": r"\bhigh_resolution_clock\b",
    "absl::Now": r"\babsl::Now\(\)",
    "sleep": r"\b(sleep_for|sleep_until|usleep|nanosleep|absl::SleepFor)\b",
    "time()": r"\b(std::)?time\((nullptr|NULL|0)\)",
    "clock_gettime": r"\b(clock_gettime|gettimeofday)\b",
    "random_device": r"\bstd::random_device\b",
    "randombytes": r"\brandombytes_\w+\(",
}


def is_test(path):
    name = path.name
    return name.endswith("_test.cc") or name in ("test_util.h",) or "test" in path.stem.split("_")


def scan(root):
    found = set()
    for path in sorted((root / "src").rglob("*")):
        if path.suffix not in (".cc", ".h"):
            continue
        rel = path.relative_to(root)
        if rel.parts[1] in ("app", "testing") or is_test(path):
            continue
        text = path.read_text()
        # Comments may name the clocks they avoid.
        code = re.sub(r"//[^\n]*", "", text)
        for name, pattern in PATTERNS.items():
            if re.search(pattern, code):
                found.add((str(rel), name))
    return found


def read_allowed(path):
    allowed = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+)\s+(\S+)\s+#\s*(.+)$", line)
        if not m or m.group(2) not in PATTERNS:
            sys.exit(f"{path}:{n}: expected 'PATH PATTERN  # why', PATTERN one of {', '.join(PATTERNS)}")
        allowed[(m.group(1), m.group(2))] = m.group(3)
    return allowed


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    allowed_file = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else root / "tests" / "real_time_allowed.txt"
    found = scan(root)
    allowed = read_allowed(allowed_file)
    bad = sorted(found - allowed.keys())
    stale = sorted(allowed.keys() - found)
    for path, name in bad:
        print(f"{path}: uses {name}: take a Clock& / Random& instead (only app/ chooses the real ones), "
              f"or list it in {allowed_file.name} with the reason")
    for path, name in stale:
        print(f"{allowed_file.name}: '{path} {name}' is no longer used: delete the line")
    if bad or stale:
        return 1
    print(f"real time: {len(found)} allowed uses outside app/, each listed with its reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
