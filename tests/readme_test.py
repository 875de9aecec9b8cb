#!/usr/bin/env python3
"""Runs README.md as a newcomer would, and checks what each command prints.

Every ```sh block of the README runs, in order, command by command, in a
scratch directory that looks like the repository to the commands: `scripts`
is the repository's, `build/release` is the build under test, `./data`
starts empty. The environment carries over from one command to the next
(`export PATH=...` in one block is in force for the rest). Rules:
  - a ```toml block whose first line is `# NAME` is written to NAME;
  - `scripts/run.sh ...` starts the server in the background (its own
    process group); the next such line, or the end, stops it with SIGTERM,
    and it must exit 0; nothing else may listen on 127.0.0.1:8080;
  - `scripts/test.sh ...` is the command that runs this test: skipped;
  - every other command must exit 0 within 120 s, and where EXPECT names
    it, print what it says.
The transcript (each command and its output) goes to stdout.

Usage: readme_test.py README BUILD_DIR REPO_DIR
"""
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# command (exactly as in the README, without its trailing comment) -> what
# its output must contain. Each entry is a promise of the walkthrough.
EXPECT = {
    "tandem --profile alice.db register +14155550101": [
        "a verification code was sent to +14155550101; finish with: tandem --profile alice.db verify +14155550101 CODE"],
    'tandem --profile alice.db verify +14155550101 "$(scripts/dev-code.sh +14155550101)"': [
        "registered +14155550101 on 127.0.0.1:8080 (profile alice.db)"],
    'tandem --profile alice.db send +14155550102 "hello Bob"': ['sent to +14155550102: "hello Bob"'],
    "tandem --profile bob.db inbox --read": ["+14155550101: hello Bob"],
    "tandem --profile alice.db inbox": ['delivered to +14155550102: "hello Bob"', 'read by +14155550102: "hello Bob"'],
    "tandem --profile alice.db history +14155550102": [re.compile(r"->\s+\+14155550102\s+read\s+hello Bob")],
    "tandem --profile alice.db discover +14155550102 +14155550199": [
        "+14155550102", "1 of 2 use the messenger"],
    'tandem --profile alice.db social verify --phone +14155550101 --code "$(scripts/dev-code.sh --social +14155550101)" --name Alice': [
        "created social account 251; the session is kept in alice.db"],
    'tandem --profile bob.db social verify --phone +14155550102 --code "$(scripts/dev-code.sh --social +14155550102)" --name Bob': [
        "created social account 252"],
    "tandem --profile alice.db social facts --purpose friend_suggestions": ["from the messenger"],
    "tandem --profile alice.db social address-book upload alice-contacts.txt": ["stored 1 numbers, rejected 0"],
    "tandem --profile alice.db social suggestions": [
        re.compile(r"252\s+Bob\s+\d+\s+in your contacts"), "has your number, uses the messenger"],
    "tandem --profile alice.db social suggestions#2": ["no suggestions yet"],
    "tandem --profile alice.db social friend request 252": ["friend request sent to 252"],
    "tandem --profile bob.db social friend accept 251": ["you and 251 are now friends"],
    "tandem --profile alice.db social friend list": [re.compile(r"252\s+Bob")],
    "tandem --profile data/demo/dana.db timeline show": [
        "[ad 1] Fresh rye - Baked daily (https://bakery.example), from Corner Bakery"],
    "tandem --profile data/demo/dana.db timeline why 1": [
        "Corner Bakery uploaded a list of its customers' phone numbers (\"Loyalty card holders\")"],
    "tandem --profile data/demo/bakery.db ads audience show 1": [
        re.compile(r"size: [\d,]+ to [\d,]+ people")],
    "tandem --profile data/demo/bakery.db ads campaign list": [re.compile(r"1\s+active\s+Fresh rye")],
    "tandem --profile data/demo/bakery.db ads audience create --name Newsletter": ['created audience 2 "Newsletter"'],
    "tandem --profile data/demo/bakery.db ads audience upload 2 newsletter.csv --header --column phone --country US --wait": [
        "sent: 3 hashed", "audience 2: ready"],
    "tandem --profile data/demo/bakery.db ads audience show 2": [
        "too small to target (sizes are shown, and audiences targeted, from a noisy count of 180 matched people)"],
    "tandem --profile alice.db privacy show": [
        "Sharing for +14155550101: on", "Next usage summary: ", re.compile(r"ads\s+no\s+never")],
    "tandem --profile alice.db privacy shared": ["your number +14155550101 (account created)"],
    "tandem --profile data/demo/dana.db privacy object ads": ["You object to the use of your messenger data for ads"],
    "tandem --profile alice.db privacy export -o alice-data.json": ["exported to alice-data.json"],
    "tandem --profile bob.db delete-account --yes": ["account +14155550102 deleted"],
    "tandem --profile alice.db --json history +14155550102": ['"kind":"history"', '"status":"read"'],
    "tandem --profile data/demo/dana.db --json social suggestions --limit 3": ['"kind":"suggestion"', '"mutual_friends:'],
    "printf '(415) 555-0123\\n0049 170 1234567\\n' | tandem phone normalize --region US": [
        "(415) 555-0123,+14155550123,", "0049 170 1234567,+491701234567,"],
}
# Checks that need more than one command's output: (after this command, a
# shell check that must succeed).
AFTER = {
    "tandem --profile data/demo/dana.db timeline show#2": "! grep -q '\\[ad ' out.txt",
    "tandem --profile alice.db privacy export -o alice-data.json": "jq -e '.account.number == \"+14155550101\"' alice-data.json",
    "tandem phone hash --input customers.csv --column phone --region DE --output hashed.csv": "[ $(wc -l < hashed.csv) = 3 ]",
}


def blocks(readme):
    """Yields (language, lines) for each fenced block."""
    lang, lines = None, []
    for line in open(readme, encoding="utf-8"):
        line = line.rstrip("\n")
        if lang is None:
            m = re.match(r"^```(\w*)\s*$", line)
            if m:
                lang, lines = m.group(1), []
        elif line.startswith("```"):
            yield lang, lines
            lang = None
        else:
            lines.append(line)


def commands(lines):
    """Shell commands of a block: continuation lines joined, comments and blank lines dropped."""
    cmd = ""
    for line in lines:
        if cmd:
            cmd += "\n" + line
        else:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cmd = line
        if not cmd.endswith("\\"):
            yield cmd
            cmd = ""


def without_comment(cmd):
    """The command without a trailing `# comment` (outside quotes)."""
    # A comment starts at " #" outside quotes.
    quote = None
    for i, c in enumerate(cmd):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and i > 0 and cmd[i - 1] in " \t":
            return cmd[:i].rstrip()
    return cmd.rstrip()


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def healthy():
    try:
        with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


def main():
    readme, build_dir, repo = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="tandem-readme-")
    os.symlink(os.path.join(repo, "scripts"), os.path.join(work, "scripts"))
    os.makedirs(os.path.join(work, "build"))
    os.symlink(build_dir, os.path.join(work, "build", "release"))
    env_file = os.path.join(work, ".env")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    with open(env_file, "w") as f:
        f.write("")
    server = None
    seen = {}
    failures = []

    def stop_server():
        nonlocal server
        if server is None:
            return
        os.killpg(server.pid, signal.SIGTERM)
        try:
            rc = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            failures.append("the server did not stop within 30 s of SIGTERM")
            rc = None
        if rc not in (0, None):
            failures.append(f"the server exited {rc} on SIGTERM")
        server = None

    try:
        for lang, lines in blocks(readme):
            if lang == "toml" and lines and lines[0].startswith("# "):
                name = lines[0][2:].strip()
                with open(os.path.join(work, name), "w") as f:
                    f.write("\n".join(lines) + "\n")
                print(f"(wrote {name})")
                continue
            if lang != "sh":
                continue
            for cmd in commands(lines):
                plain = without_comment(cmd)
                print(f"$ {cmd}", flush=True)
                if plain.startswith("scripts/test.sh"):
                    print("(skipped: this is the command running the test)")
                    continue
                if plain.startswith("scripts/run.sh"):
                    stop_server()
                    if not port_free(8080):
                        print("FAIL: something else listens on 127.0.0.1:8080; the README's server needs it")
                        return 1
                    log = open(os.path.join(work, "server.log"), "a")
                    server = subprocess.Popen(["bash", "-c", f"set -a; source {env_file}; set +a; {plain}"],
                                              cwd=work, stdout=log, stderr=log, start_new_session=True,
                                              env=base_env)
                    deadline = time.time() + 300
                    while not healthy():
                        if server.poll() is not None or time.time() > deadline:
                            print(open(os.path.join(work, "server.log")).read())
                            print("FAIL: the server did not start")
                            return 1
                        time.sleep(0.2)
                    print("(server ready on 127.0.0.1:8080)")
                    continue
                script = f"set -a; source {shlex.quote(env_file)}; set +a\n{cmd}\nrc=$?\nexport -p > {shlex.quote(env_file)}.new\nexit $rc\n"
                try:
                    r = subprocess.run(["bash", "-c", script], cwd=work, env=base_env, capture_output=True,
                                       text=True, timeout=120)
                    out, rc = r.stdout + r.stderr, r.returncode
                except subprocess.TimeoutExpired:
                    out, rc = "", "timeout"
                if os.path.exists(env_file + ".new"):
                    # Keep the environment for the next command (without
                    # bash's own read-only variables).
                    kept = [l for l in open(env_file + ".new") if not re.match(r"declare -[a-zA-Z]*r", l)]
                    with open(env_file, "w") as f:
                        f.writelines(l.replace("declare -x ", "export ", 1) for l in kept)
                    os.remove(env_file + ".new")
                print(out, end="" if out.endswith("\n") or not out else "\n", flush=True)
                if rc != 0:
                    failures.append(f"`{cmd}` exited {rc}")
                    continue
                seen[plain] = seen.get(plain, 0) + 1
                key = plain if seen[plain] == 1 else f"{plain}#{seen[plain]}"
                for want in EXPECT.get(key, []):
                    ok = want.search(out) if isinstance(want, re.Pattern) else want in out
                    if not ok:
                        failures.append(f"`{cmd}` did not print {getattr(want, 'pattern', want)!r}")
                if key in AFTER:
                    with open(os.path.join(work, "out.txt"), "w") as f:
                        f.write(out)
                    if subprocess.run(["bash", "-c", AFTER[key]], cwd=work).returncode != 0:
                        failures.append(f"after `{cmd}`: check `{AFTER[key]}` failed")
        missing = [k for k in list(EXPECT) + list(AFTER)
                   if (k.split("#")[0] not in seen) or
                   ("#" in k and seen.get(k.split("#")[0], 0) < int(k.split("#")[1]))]
        for k in missing:
            failures.append(f"the README no longer runs `{k}`: update the walkthrough and this test together")
    finally:
        stop_server()
        # The data directory stays private, as the README says.
        data = os.path.join(work, "data")
        if os.path.isdir(data) and (os.stat(data).st_mode & 0o777) != 0o700:
            failures.append("data directory is not 0700")
        subprocess.run(["rm", "-rf", work])
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("README: every command ran as written")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
