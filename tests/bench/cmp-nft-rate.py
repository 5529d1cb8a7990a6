#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cmp-nft-rate: bans/s into the kernel set, a piece of tests/bench/compare.py.

Three ways to put the same bans into table inet nftjail, alternating run by run, in a network
namespace of its own (unshare -n: the host's ruleset is never touched):
  nftjail                     nft_apply() with all N elements in one call, as the daemon sends a
                              burst of N bans (bench-nft --apply)
  nft add element (per ban)   one nft process per ban, as fail2ban's and sshguard's nftables
                              actions do; measured on a few hundred bans, reported as a rate
  nft -f (one file)           one nft -f file holding all N elements (one add element per set)
N = 100,000 (BENCH_QUICK=1: 10,000): 90% IPv4 (the 768 documentation addresses x ports, set
v4_port), 10% IPv6 /64s (set v6_port_64), timeout 1h and a comment each. The sets are flushed
before every run. Env: SRCDIR, BUILDDIR, BENCH_RUNS (5), BENCH_QUICK, BENCH_JSON.
Exits 77 when not root or without nft.
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MEASURE = "bans/s into the kernel set"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True, **kw).stdout


def main():
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"):
        print("cmp-nft-rate: needs root, nft and unshare: skipping", file=sys.stderr)
        return 77
    if os.environ.get("CMP_NFT_NETNS") != "1":
        # again, in a network namespace of its own
        env = dict(os.environ, CMP_NFT_NETNS="1")
        return subprocess.call(["unshare", "-n", "--", sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                               env=env)

    src = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(HERE))
    build = os.environ.get("BUILDDIR") or os.path.join(src, "build")
    bench = os.path.join(build, "tests", "bench", "bench-nft")
    if not os.access(bench, os.X_OK):
        print("cmp-nft-rate: %s is missing (build first)" % bench, file=sys.stderr)
        return 1
    runs = int(os.environ.get("BENCH_RUNS") or 5)
    quick = os.environ.get("BENCH_QUICK") == "1"
    n = 10000 if quick else 100000
    n_per_ban = 50 if quick else 300

    sh("nft", "-f", os.path.join(src, "nft", "nftjail.nft"))
    tmp = tempfile.mkdtemp(prefix="cmp-nft-rate.")
    one_file = os.path.join(tmp, "all.nft")
    lines_file = os.path.join(tmp, "lines.nft")
    sh(bench, "--nft-file", str(n), one_file)
    sh(bench, "--nft-lines", str(n_per_ban), lines_file)
    with open(lines_file) as f:
        per_ban = [l.strip() for l in f if l.strip()]

    def flush():
        for s in ("v4_port", "v6_port_64"):
            sh("nft", "flush", "set", "inet", "nftjail", s)

    def count():
        out = sh("nft", "-j", "list", "table", "inet", "nftjail")
        return sum(len(o["set"].get("elem", [])) for o in json.loads(out)["nftables"] if "set" in o)

    def run_nftjail():
        return n / float(sh(bench, "--apply", str(n)).strip()), n

    def run_per_ban():
        t0 = time.perf_counter()
        for cmd in per_ban:
            sh("nft", cmd)
        return len(per_ban) / (time.perf_counter() - t0), len(per_ban)

    def run_nft_file():
        t0 = time.perf_counter()
        sh("nft", "-f", one_file)
        return n / (time.perf_counter() - t0), n

    tools = {"nftjail": run_nftjail, "nft add element (per ban)": run_per_ban, "nft -f (one file)": run_nft_file}
    results = {t: [] for t in tools}
    for r in range(runs):
        for name, fn in tools.items():
            flush()
            rate, want = fn()
            got = count()
            if got != want:
                print("cmp-nft-rate: %s run %d: %d elements in the kernel, expected %d" % (name, r + 1, got, want),
                      file=sys.stderr)
                return 1
            results[name].append(round(rate, 1))
    flush()
    shutil.rmtree(tmp)

    nft_version = sh("nft", "--version").strip()
    target = statistics.median(results["nft -f (one file)"])
    row = {
        "measure": MEASURE, "unit": "bans/s", "better": "higher",
        "target": round(target, 1), "target_text": ">= the nft -f (one file) rate of the same run",
        "results": results,
        "note": ("%d bans (90%% IPv4 in v4_port, 10%% IPv6 /64 in v6_port_64, timeout and comment each) into an "
                 "empty set, in a network namespace of its own; nftjail: nft_apply() of all of them in one call, "
                 "as the daemon sends a burst, timed in-process; nft add element (per ban): one process per ban "
                 "as fail2ban's and sshguard's nftables actions run, on %d bans; nft -f: one file, wall time of "
                 "the process; %s, kernel %s" % (n, len(per_ban), nft_version, platform.release())),
    }
    for name, v in results.items():
        print("%-28s %s bans/s (median %.0f)" % (name, " ".join("%.0f" % x for x in v), statistics.median(v)))
    out = os.environ.get("BENCH_JSON")
    if out:
        with open(out, "w") as f:
            json.dump({"rows": [row]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
