#!/usr/bin/env python3
"""The component boundary of docs/architecture.md, checked against the code.

Usage: layering_test.py SOURCE_DIR [--exceptions FILE]

Reads the component table of docs/architecture.md (the backticked component
names of its "may depend on" and "tests may also use" columns) and checks,
for every folder src/<component>/:

  includes  every `#include "X/..."` names the component itself or one it may
            depend on; its tests (*_test.cc, test_util.h, *_test_peer*) may
            also use the components of "tests may also use". Where the
            "may depend on" cell also names headers of a component
            (`social/purpose_view.h`), the component's non-test sources may
            include only those headers of it;
  links     every tandem_<x> library named by target_link_libraries (or the
            LIBS of tandem_test) in src/<component>/CMakeLists.txt, under the
            same rule (test executables get the tests' extra edges);
  tables    a component owns the tables its non-test sources CREATE TABLE;
            a SQL string literal in another component's non-test sources
            naming such a table (FROM t, JOIN t, INTO t, UPDATE t, TABLE t)
            is a violation.

A violation of the tables or header rules that tests/layering_exceptions.txt
lists ("component table reason" or "component header reason") is reported
as allowed; a listed pair that no longer occurs is an error, so the list
only shrinks. Components and links have no exceptions.

Prints every finding as FILE:LINE: message and exits 1 if there is any.
Needs nothing beyond the Python 3 standard library.
"""

import argparse
import fnmatch
import os
import re
import sys

TEST_PATTERNS = ("*_test.cc", "test_util.h", "*_test_peer*")
SOURCE_EXTENSIONS = (".cc", ".h")
SQL_REFERENCE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([A-Za-z_][A-Za-z0-9_]*)")
CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/[^"]*"')


class Findings:
    def __init__(self, root):
        self.root = root
        self.lines = []

    def add(self, path, line, message):
        rel = os.path.relpath(path, self.root)
        self.lines.append(f"{rel}:{line}: {message}")


def is_test_file(name):
    return any(fnmatch.fnmatch(name, p) for p in TEST_PATTERNS)


# --- docs/architecture.md -------------------------------------------------

def read_table(path, findings):
    """Returns {component: (may_depend_on, tests_may_also_use)}."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    header = None
    rows = {}
    for number, line in enumerate(lines, 1):
        if not line.startswith("|"):
            if header is not None and rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            if "component" in cells and "may depend on" in cells:
                header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells))
        names = re.findall(r"`([^`]+)`", row.get("component", ""))
        if len(names) != 1:
            findings.add(path, number, "a component row names its component once, in backticks")
            continue
        named = re.findall(r"`([^`]+)`", row.get("may depend on", ""))
        deps = {n for n in named if "/" not in n}
        headers = {n for n in named if "/" in n}
        extra = set(re.findall(r"`([^`]+)`", row.get("tests may also use", "")))
        rows[names[0]] = (deps, extra, headers, number)
    if header is None:
        findings.add(path, 1, 'no table with "component" and "may depend on" columns')
    for component, (deps, extra, headers, number) in rows.items():
        for name in sorted((deps | extra) - set(rows)):
            findings.add(path, number, f"{component}: `{name}` is not a component of the table")
        for name in sorted(headers):
            if name.split("/")[0] not in deps:
                findings.add(path, number, f"{component}: `{name}` is a header of a component it may not depend on")
            elif not os.path.isfile(os.path.join(os.path.dirname(os.path.dirname(path)), "src", name)):
                findings.add(path, number, f"{component}: `{name}` does not exist (src/{name})")
    return {c: Rules(d, e, h) for c, (d, e, h, _) in rows.items()}


class Rules:
    def __init__(self, deps, extra, headers):
        self.deps = deps        # components it may depend on
        self.extra = extra      # components its tests may also use
        self.headers = headers  # "x/y.h": the only headers of x its non-test sources include

    def allows(self, component, dep, is_test):
        return dep in {component} | self.deps | (self.extra if is_test else set())

    def restricted(self, dep):
        return any(h.split("/")[0] == dep for h in self.headers)


# --- C++ sources ----------------------------------------------------------

def string_literals(text):
    """Yields (line, offset_in_text, contents) of every string literal,
    skipping comments and character literals."""
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
        elif c == "'" and not (i > 0 and (text[i - 1].isalnum())):
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == "'":  # digit separator, e.g. 1'000
            i += 1
        elif c == '"':
            raw = i > 0 and text[i - 1] == "R" and not (i > 1 and (text[i - 2].isalnum() and text[i - 2] not in "uUL8"))
            if raw:
                paren = text.find("(", i)
                delim = text[i + 1:paren]
                end = text.find(")" + delim + '"', paren)
                end = n if end < 0 else end
                yield line, paren + 1, text[paren + 1:end]
                stop = end + len(delim) + 2
            else:
                j = i + 1
                while j < n and text[j] != '"' and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                yield line, i + 1, text[i + 1:j]
                stop = j + 1
            line += text.count("\n", i, min(stop, n))
            i = stop
        else:
            i += 1


def scan_sources(src, components):
    """Returns [(component, path, is_test, text)] for src/<component>/**."""
    files = []
    for component in sorted(components):
        base = os.path.join(src, component)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_EXTENSIONS):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8", errors="replace") as f:
                        files.append((component, path, is_test_file(name), f.read()))
    return files


def check_includes(files, table, findings):
    """Reports forbidden edges; returns [(component, header, path, line)] of
    includes outside a restricted edge's headers (exceptions may allow those)."""
    narrow = []
    for component, path, is_test, text in files:
        rules = table[component]
        for number, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) not in table:
                continue
            target, header = m.group(1), line.split('"')[1]
            if not rules.allows(component, target, is_test):
                column = '"may depend on" or "tests may also use"' if is_test else '"may depend on"'
                findings.add(path, number, f'{component} includes "{header}": `{target}` is not in '
                             f"{component}'s {column} (docs/architecture.md)")
            elif (not is_test and target != component and rules.restricted(target)
                  and header not in rules.headers):
                narrow.append((component, header, path, number))
    return narrow


def table_owners(files):
    owners = {}
    for component, path, is_test, text in files:
        if is_test:
            continue
        for _, _, literal in string_literals(text):
            for m in CREATE_TABLE.finditer(literal):
                owners.setdefault(m.group(1), set()).add(component)
    return owners


def table_violations(files, owners):
    """Returns [(component, table, path, line, owners)]."""
    found = []
    for component, path, is_test, text in files:
        if is_test:
            continue
        for line, offset, literal in string_literals(text):
            for m in SQL_REFERENCE.finditer(literal):
                table = m.group(1)
                if table in owners and component not in owners[table]:
                    found.append((component, table, path, line + literal.count("\n", 0, m.start(1)),
                                  owners[table]))
    return found


# --- CMake ----------------------------------------------------------------

def cmake_calls(text, command):
    """Yields (line_of_each_token, tokens) of every call of `command`."""
    text = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), text)
    for m in re.finditer(r"\b" + command + r"\s*\(", text):
        end = text.find(")", m.end())
        body = text[m.end():end]
        start_line = text.count("\n", 0, m.end()) + 1
        tokens = []
        for t in re.finditer(r"\S+", body):
            tokens.append((start_line + body.count("\n", 0, t.start()), t.group(0)))
        yield tokens


def check_links(src, table, findings):
    lists = {c: os.path.join(src, c, "CMakeLists.txt") for c in table}
    texts = {}
    libraries = {}  # target -> component that defines it
    for component, path in lists.items():
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            texts[component] = f.read()
        for tokens in cmake_calls(texts[component], "add_library"):
            if tokens and "ALIAS" not in [t for _, t in tokens]:
                libraries[tokens[0][1]] = component
    for component, text in texts.items():
        path = lists[component]
        tests = {t[0][1] for t in cmake_calls(text, "tandem_test") if t}
        tests |= {t[0][1] for t in cmake_calls(text, "add_executable") if t and t[0][1].endswith("_test")}
        links = []  # (target, line, library)
        for tokens in cmake_calls(text, "target_link_libraries"):
            links += [(tokens[0][1], line, name) for line, name in tokens[1:]]
        for tokens in cmake_calls(text, "tandem_test"):
            names = [t for _, t in tokens]
            if "LIBS" in names:
                start = names.index("LIBS") + 1
                links += [(tokens[0][1], line, name) for line, name in tokens[start:]]
        for target, line, library in links:
            if library not in libraries:
                continue
            dep = libraries[library]
            is_test = target in tests
            if table[component].allows(component, dep, is_test):
                continue
            kind = "test " if is_test else ""
            findings.add(path, line,
                         f"{kind}target {target} of {component} links {library}: `{dep}` is not in "
                         f"{component}'s \"may depend on\"" +
                         (' or "tests may also use"' if is_test else "") + " (docs/architecture.md)")


# --- exceptions -----------------------------------------------------------

def read_exceptions(path, findings):
    entries = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                findings.add(path, number, 'an exception is "component table reason"')
                continue
            entries[(parts[0], parts[1])] = number
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir")
    parser.add_argument("--exceptions", help="default: SOURCE_DIR/tests/layering_exceptions.txt")
    args = parser.parse_args()
    root = os.path.abspath(args.source_dir)
    src = os.path.join(root, "src")
    exceptions_path = args.exceptions or os.path.join(root, "tests", "layering_exceptions.txt")
    findings = Findings(root)

    table = read_table(os.path.join(root, "docs", "architecture.md"), findings)
    folders = {d for d in os.listdir(src) if os.path.isfile(os.path.join(src, d, "CMakeLists.txt"))}
    for missing in sorted(folders - set(table)):
        findings.add(os.path.join(src, missing, "CMakeLists.txt"), 1,
                     f"component {missing} has no row in docs/architecture.md's component table")
    for stale in sorted(set(table) - folders):
        findings.add(os.path.join(root, "docs", "architecture.md"), 1,
                     f"component `{stale}` of the table has no folder src/{stale}/")
    table = {c: v for c, v in table.items() if c in folders}

    files = scan_sources(src, table)
    narrow = check_includes(files, table, findings)
    check_links(src, table, findings)

    exceptions = read_exceptions(exceptions_path, findings)
    listed = os.path.relpath(exceptions_path, root)
    used = set()
    for component, header, path, line in narrow:
        key = (component, header)
        if key in exceptions:
            used.add(key)
            print(f"{os.path.relpath(path, root)}:{line}: allowed by {listed}: {component} includes {header}")
            continue
        findings.add(path, line, f'{component} includes "{header}": of `{header.split("/")[0]}` it may '
                     f"include only {', '.join(sorted(h for h in table[component].headers if h.startswith(header.split('/')[0] + '/')))} "
                     "(docs/architecture.md)")
    owners = table_owners(files)
    for component, tbl, path, line, owned_by in table_violations(files, owners):
        owner = ", ".join(sorted(owned_by))
        key = (component, tbl)
        if key in exceptions:
            used.add(key)
            print(f"{os.path.relpath(path, root)}:{line}: allowed by {listed}: {component} names table {tbl}, "
                  f"owned by {owner}")
            continue
        findings.add(path, line, f"{component} names table {tbl}, owned by {owner} "
                     f"(not listed in {listed})")
    for key, number in sorted(exceptions.items(), key=lambda kv: kv[1]):
        if key not in used:
            findings.add(exceptions_path, number,
                         f"{key[0]} no longer names {key[1]}: remove this exception")

    for line in findings.lines:
        print(line)
    if findings.lines:
        print(f"layering: {len(findings.lines)} finding(s); the rules are in docs/architecture.md")
        return 1
    print(f"layering: {len(table)} components, {len(files)} files: includes, links and tables "
          f"follow docs/architecture.md ({len(used)} listed exception(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
