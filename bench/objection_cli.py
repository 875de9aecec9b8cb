#!/usr/bin/env python3
"""Objection to enforcement, end to end through the real binaries and the CLI.

A tandemd with its demo world (`serve --demo`): Dana is on the Corner
Bakery's customer list and sees its ad. Each round:
  1. (untimed) Dana withdraws any objection, the bakery uploads her number
     again (`tandem ads audience upload 1 … --wait`), and the ad is back in
     her timeline;
  2. (timed from the moment `tandem --profile dana.db privacy object ads` is
     started) the bench polls, back to back on kept-alive connections, her
     timeline (GET /v1/social/timeline, as `tandem timeline show` asks it)
     until no ad is in it, and the social database until her membership of
     the audience is gone.
Every look at the timeline that shows the ad counts as an impression (a
campaign shows at most 100 a day to one person), so the bench first adds a
campaign per two rounds. It prints p50/p90/p99/max of "ad gone" and "membership gone", and of the
CLI's own run time (process start to exit, which includes the messenger's
commit), in milliseconds.

Usage: objection_cli.py --bin build/release/src/app [--rounds 50] [--set key=value]...
"""
import argparse
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory with tandemd and tandem")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    tandemd, tandem = os.path.join(a.bin, "tandemd"), os.path.join(a.bin, "tandem")
    work = tempfile.mkdtemp(prefix="objection-cli-")
    ready = os.path.join(work, "ready")
    args = [tandemd, "serve", "--demo", "--data-dir", os.path.join(work, "data"), "--listen", "127.0.0.1:0",
            "--ready-file", ready]
    for s in a.set:
        args += ["--set", s]
    server = subprocess.Popen(args, stdout=open(os.path.join(work, "log"), "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while not os.path.exists(ready):
            if server.poll() is not None or time.time() > deadline:
                print(open(os.path.join(work, "log")).read())
                return 1
            time.sleep(0.05)
        host, port = open(ready).read().strip().rsplit(":", 1)
        dana = os.path.join(work, "data", "demo", "dana.db")
        bakery = os.path.join(work, "data", "demo", "bakery.db")
        token = sqlite3.connect(dana).execute("SELECT value FROM settings WHERE key = 'social.token'").fetchone()[0]
        conn = http.client.HTTPConnection(host, int(port))
        social = sqlite3.connect(os.path.join(work, "data", "social.db"))
        dana_id = int(sqlite3.connect(dana).execute(
            "SELECT value FROM settings WHERE key = 'social.account_id'").fetchone()[0])
        with open(os.path.join(work, "dana.csv"), "w") as f:
            f.write("+16505550100\n")

        def has_ad():
            conn.request("GET", "/v1/social/timeline?limit=5", headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            body = json.loads(r.read())
            return any(item.get("type") == "ad" for item in body["items"])

        def is_member():
            return social.execute("SELECT COUNT(*) FROM ads_memberships WHERE audience_id = 1 AND user_id = ?",
                                  (dana_id,)).fetchone()[0] > 0

        def cli(*words):
            subprocess.run([tandem, *words], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        # Every look at the timeline while the ad is there is an impression,
        # and a campaign shows at most 100 a day to one person: enough
        # campaigns for the rounds' looks, so that an ad is gone only
        # because of the objection.
        for i in range(max(1, a.rounds // 2)):
            cli("--profile", bakery, "ads", "campaign", "create", "--name", f"bench-{i}", "--title", "Rye",
                "--text", "Baked daily", "--link", "https://bakery.example", "--include", "1",
                "--budget", "1000000", "--frequency-cap", "100")
        ad_ms, member_ms, cli_ms = [], [], []
        for _ in range(a.rounds):
            cli("--profile", dana, "privacy", "withdraw", "ads")
            cli("--profile", bakery, "ads", "audience", "upload", "1", os.path.join(work, "dana.csv"), "--wait")
            deadline = time.time() + 10
            while not (is_member() and has_ad()):
                if time.time() > deadline:
                    print("Dana's ad did not come back after the upload")
                    return 1
                time.sleep(0.01)
            start = time.perf_counter()
            proc = subprocess.Popen([tandem, "--profile", dana, "privacy", "object", "ads"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ad_gone = member_gone = cli_done = None
            while ad_gone is None or member_gone is None or cli_done is None:
                now = lambda: (time.perf_counter() - start) * 1000
                if cli_done is None and proc.poll() is not None:
                    if proc.returncode != 0:
                        print("the CLI failed")
                        return 1
                    cli_done = now()
                if ad_gone is None and not has_ad():
                    ad_gone = now()
                if member_gone is None and not is_member():
                    member_gone = now()
                if now() > 10_000:
                    print("not enforced within 10 s")
                    return 1
            ad_ms.append(ad_gone)
            member_ms.append(member_gone)
            cli_ms.append(cli_done)
        print(f"rounds: {a.rounds}")
        for name, v in (("ad gone from the timeline", ad_ms), ("membership gone", member_ms),
                        ("CLI run (start to exit)", cli_ms)):
            print(f"{name:26s} p50 {percentile(v, 50):6.1f}  p90 {percentile(v, 90):6.1f}  "
                  f"p99 {percentile(v, 99):6.1f}  max {max(v):6.1f} ms")
        return 0
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
