#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Floods: tests/bench/bench-flood.sh (the meson benchmark 'flood') once, its printed figures
turned into rows. nftjail only: fail2ban reads the same 5,000,000 lines at about 20,000 lines/s
and bans one nft process at a time (about 270 bans/s here), so the 200,000 bans would take it
over 12 minutes.

A piece of tests/bench/compare.py (see there for the environment it reads); usable alone, as root:

  BENCH_JSON=/tmp/flood.json SRCDIR=$PWD NFTJAILD=build/src/daemon/nftjaild \\
      NFTJAIL=build/src/cli/nftjail tests/bench/cmp-flood.py

One run whatever BENCH_RUNS says (the two floods take 3-4 minutes): the status row's figure is the
slowest of the thousands of calls made during it (their p50 and p99 are in its note).
BENCH_QUICK=1: a tenth of the sizes.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchrows  # noqa: E402

SRC = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = {"file": (500_000, 100_000) if QUICK else (5_000_000, 1_000_000),
         "journal": (100_000, 20_000) if QUICK else (1_000_000, 200_000)}


def parse(out, mode):
    """The figures of one mode's block of bench-flood.sh's output."""
    block = out.split(f"--- {mode}:", 1)[1].split("\n--- ", 1)[0]
    f = {}
    m = re.search(r"([\d.]+) lines/s end to end; lag at the end ([\d.]+) s", block)
    f["rate"], f["lag"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"status \(flood, (\d+) calls, (\d+) failed\): p50 ([\d.]+) ms, p99 ([\d.]+) ms, "
                  r"max ([\d.]+) ms, over 100 ms: (\d+)", block)
    f["calls"], f["failed"], f["over"] = int(m.group(1)), int(m.group(2)), int(m.group(6))
    f["cli"] = [float(m.group(3)), float(m.group(4)), float(m.group(5))]
    m = re.search(r"status on the socket \(flood, .*?\): p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms", block)
    f["sock"] = [float(m.group(1)), float(m.group(2)), float(m.group(3))]
    m = re.search(r"kernel: banned (\d+) of (\d+) expected, (\d+) missing, (\d+) unexpected, "
                  r"legitimate \S+ banned: (\w+)", block)
    f["kernel"] = m.group(0)
    m = re.search(r"peak RSS .*? ([\d.]+) MiB;", block)
    f["hwm"] = float(m.group(1))
    return f


def main():
    if os.geteuid() != 0:
        print("SKIP: the flood runs in the integration rig (root)", file=sys.stderr)
        return 77
    env = dict(os.environ, SRCDIR=SRC, FLOOD_MODES="file journal",
               FLOOD_LINES=str(SIZES["file"][0]), FLOOD_ADDRESSES=str(SIZES["file"][1]),
               FLOOD_J_LINES=str(SIZES["journal"][0]), FLOOD_J_ADDRESSES=str(SIZES["journal"][1]))
    p = subprocess.run([os.path.join(SRC, "tests", "bench", "bench-flood.sh")], env=env, capture_output=True,
                       text=True)
    print(p.stdout, file=sys.stderr)
    if p.returncode == 77:
        print("SKIP: " + (p.stdout.strip().splitlines() or ["bench-flood.sh skipped"])[-1], file=sys.stderr)
        return 77
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        return 1
    load = re.search(r"load average (\S+ \S+ \S+)", p.stdout).group(1)
    rows = []
    for mode, what in (("file", "a log file"), ("journal", "the private journald")):
        lines, addrs = SIZES[mode]
        f = parse(p.stdout, mode)
        size = f"{lines:,} sshd failure lines from {addrs:,} addresses (10% IPv6), maxretry 5, through {what}"
        common = (f"{size}, shuffled, while a legitimate user logs in; `nftjail status` run every 20 ms throughout: "
                  f"{f['calls']:,} calls ({f['failed']} failed), {f['over']} over 100 ms; {f['kernel']}; "
                  f"peak RSS {f['hwm']:.1f} MiB; load average at the start {load}")
        rows.append({"measure": f"flood ({mode}): the slowest `nftjail status` call during it", "unit": "ms",
                     "better": "lower", "target": 100, "target_text": "<= 100 ms", "results": {"nftjail": [f["cli"][2]]},
                     "note": common + f"; each call is a CLI process, its start included: p50 {f['cli'][0]:.1f} ms, "
                             f"p99 {f['cli'][1]:.1f} ms; the daemon's own answer (a status request on its socket just "
                             f"before each call, no process start): p50 {f['sock'][0]:.1f} ms, p99 {f['sock'][1]:.1f} "
                             f"ms, slowest {f['sock'][2]:.1f} ms"})
        rows.append({"measure": f"flood ({mode}): lines/s end to end", "unit": "lines/s", "better": "higher",
                     "results": {"nftjail": [f["rate"]]},
                     "note": f"the same run: lines / (first line written -> the last line's ban in the kernel); "
                             f"lag at the end (last line written -> its ban) {f['lag']:.1f} s"})
    benchrows.emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
