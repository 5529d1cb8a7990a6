#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Many jails on one log: every shipped filter on a mixed log, with the literal prefilter and
without, beside sshd alone; and what an idle jail costs. nftjail only (fail2ban runs each jail's
regexes on every line: its rate is the "without" row's idea at best).

A piece of tests/bench/compare.py (see there for the environment it reads); usable alone:

  BENCH_JSON=/tmp/jails.json SRCDIR=$PWD BUILDDIR=build tests/bench/cmp-jails.py

Runs build/tests/bench/bench-jails on gen-mixedlog.py's log (1,000,000 lines, 200,000 with
BENCH_QUICK=1; --seed 1), BENCH_RUNS times; each run reports the best of 3 rounds, CPU time of
the process (one core's rate), lines held in memory with their leading dates cut. Needs no root.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchrows  # noqa: E402

SRC = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILDDIR") or os.path.join(SRC, "build")
RUNS = max(1, int(os.environ.get("BENCH_RUNS") or 3))
LINES = 200_000 if os.environ.get("BENCH_QUICK") == "1" else 1_000_000


def main():
    bench = os.path.join(BUILD, "tests", "bench", "bench-jails")
    if not os.access(bench, os.X_OK):
        print(f"SKIP: no {bench} (ninja -C {BUILD})", file=sys.stderr)
        return 77
    vals = {k: [] for k in ("sshd", "off", "on", "scan", "idle_on", "idle_off")}
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "mixed.log")
        with open(log, "w") as f:
            subprocess.run([sys.executable, os.path.join(SRC, "tests", "bench", "gen-mixedlog.py"), "--lines",
                            str(LINES), "--seed", "1"], stdout=f, check=True)
        for _ in range(RUNS):
            out = subprocess.run([bench, log], capture_output=True, text=True, check=True).stdout
            print(out, file=sys.stderr)
            rate = lambda what: float(re.search(re.escape(what) + r"\s+(\d+) lines/s", out).group(1))
            vals["sshd"].append(rate("sshd alone (filter_match)"))
            vals["off"].append(rate("all filters, every one on every line"))
            vals["on"].append(rate("all filters, literal prefilter (MatchSet)"))
            vals["scan"].append(rate("of which the scan alone"))
            m = re.search(r"\s64 idle jails added: .*?\(([+-][\d.]+) ns/line per idle jail\).*?\(([+-][\d.]+) ns/line",
                          out)
            vals["idle_on"].append(float(m.group(1)))
            vals["idle_off"].append(float(m.group(2)))
    n = re.search(r"(\d+) shipped filters", out).group(1)
    note = (f"{LINES:,} lines of gen-mixedlog.py --seed 1 (auth log, web access and error logs, mail, FTP, MySQL), "
            f"all {n} filters of conf/filter.d in their default modes, lines in memory, dates cut first, CPU time, "
            f"best of 3 rounds per run")
    rows = [
        {"measure": "all shipped filters, mixed log, literal prefilter, lines/s, one core", "unit": "lines/s",
         "better": "higher", "target": 3_000_000, "target_text": ">= 3,000,000 lines/s",
         "results": {"nftjail": vals["on"]}, "note": note},
        {"measure": "all shipped filters, mixed log, every filter on every line, lines/s, one core",
         "unit": "lines/s", "better": "higher", "results": {"nftjail": vals["off"]}, "note": note},
        {"measure": "sshd filter alone, mixed log, lines/s, one core", "unit": "lines/s", "better": "higher",
         "results": {"nftjail": vals["sshd"]}, "note": note},
        {"measure": "literal scan alone (all filters' literals), mixed log, lines/s", "unit": "lines/s",
         "better": "higher", "results": {"nftjail": vals["scan"]}, "note": note},
        {"measure": "idle jail, with the prefilter, ns/line each (64 added)", "unit": "ns/line", "better": "lower",
         "results": {"nftjail": vals["idle_on"]}, "note": "filters whose literals never occur, added to the set"},
        {"measure": "idle jail, without the prefilter, ns/line each (64 added)", "unit": "ns/line",
         "better": "lower", "results": {"nftjail": vals["idle_off"]},
         "note": "the same filters, each one's regexes run on every line"},
    ]
    benchrows.emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
