#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Side-by-side figures: nftjail against fail2ban and sshguard, on the same input, in the same run.

Runs each tool on the same generated auth log, alternating tools run by run, and prints min /
median / max and the ratio to nftjail (median) as a table, plus a JSON file. fail2ban and sshguard
are used only when installed (apt-get install fail2ban sshguard); they are never required.

  tests/bench/compare.py --build build [--lines 1000000] [--runs 5] [--json out.json]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(cmd, stdin=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t1 = time.perf_counter()
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {p.stdout[-500:]!r}")
    return t1 - t0, p.stdout.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--lines", type=int, default=int(os.environ.get("COMPARE_LINES", "1000000")))
    ap.add_argument("--addresses", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("COMPARE_RUNS", "5")))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    nftjail = os.path.join(a.build, "src", "nftjail")
    tmp = tempfile.mkdtemp(prefix="nftjail-compare.")
    log = os.path.join(tmp, "auth.log")
    with open(log, "w") as f:
        subprocess.run([sys.executable, os.path.join(SRC, "tests/bench/gen-authlog.py"), "--lines", str(a.lines),
                        "--addresses", str(a.addresses), "--seed", "1"], stdout=f, check=True)

    tools = {"nftjail": lambda: timed([nftjail, "regex", "--config-dir", os.path.join(SRC, "conf"), log, "sshd"])}
    f2b_filter = "/etc/fail2ban/filter.d/sshd.conf"
    if shutil.which("fail2ban-regex") and os.path.exists(f2b_filter):
        tools["fail2ban-regex"] = lambda: timed(["fail2ban-regex", log, f2b_filter])
    sshg = "/usr/libexec/sshguard/sshg-parser"
    if os.access(sshg, os.X_OK):
        def run_sshg():
            with open(log, "rb") as f:
                return timed([sshg], stdin=f)
        tools["sshg-parser"] = run_sshg

    times = {t: [] for t in tools}
    for r in range(a.runs):
        for name, fn in tools.items():      # alternate: one run of each tool per round
            dt, _ = fn()
            times[name].append(dt)

    rows = []
    base = statistics.median(times["nftjail"])
    for name, ts in times.items():
        rates = sorted(a.lines / t for t in ts)
        med = statistics.median(rates)
        rows.append({"tool": name, "measure": "sshd filter, lines/s", "min": rates[0], "median": med,
                     "max": rates[-1], "ratio_to_nftjail": med / (a.lines / base)})

    print(f"sshd filter matching, {a.lines} lines, {a.runs} runs each, alternating "
          f"({time.strftime('%Y-%m-%d')}, {platform.node()}, {os.cpu_count()} cores, {platform.release()})")
    print(f"{'tool':<16} {'min':>12} {'median':>12} {'max':>12} {'vs nftjail':>11}")
    for row in rows:
        print(f"{row['tool']:<16} {row['min']:>12,.0f} {row['median']:>12,.0f} {row['max']:>12,.0f} "
              f"{row['ratio_to_nftjail']:>10.3f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "cores": os.cpu_count(),
                       "kernel": platform.release(), "lines": a.lines, "runs": a.runs, "rows": rows}, f, indent=2)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
