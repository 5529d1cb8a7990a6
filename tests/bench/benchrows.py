# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tests/bench/cmp-*.py pieces share: printing their rows and writing them where
compare.py reads them (BENCH_JSON)."""
import json
import os
import statistics


def emit(rows):
    """Prints each row (min, median, max per tool, then its note) and writes {"rows": rows} to
    $BENCH_JSON when set."""
    for row in rows:
        print(row["measure"])
        for tool, v in row["results"].items():
            print(f"  {tool:<10} min {min(v):>12,.1f}  median {statistics.median(v):>12,.1f}  max {max(v):>12,.1f}")
        print(f"  {row['note']}")
    if os.environ.get("BENCH_JSON"):
        with open(os.environ["BENCH_JSON"], "w") as f:
            json.dump({"rows": rows}, f, indent=2)
            f.write("\n")
