#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The side-by-side table: nftjail against fail2ban and sshguard, on the same input, in the same run.

Runs every executable tests/bench/cmp-* piece (sorted by name), merges the rows they write and
prints one table: per measure and tool the min / median / max over the runs, the ratio of the
medians to nftjail's (phrased so that a ratio above 1 means nftjail is better, whichever way
"better" goes) and whether nftjail meets the issue's target. fail2ban and sshguard are used by the
pieces only when installed (apt-get install fail2ban sshguard); they are never required.

Each piece gets in its environment SRCDIR, BUILDDIR, NFTJAILD, NFTJAIL, BENCH_RUNS, BENCH_QUICK
(when --quick) and BENCH_JSON (the file it writes: {"rows": [...]}), and exits 0, 77 when it
cannot run here (its last line on stderr says why), or anything else on error. Many pieces need
root (they make their own namespaces and never touch the host's firewall or journal):

  sudo tests/bench/compare.py --build build --markdown perf.md --json perf.json
  tests/bench/compare.py --quick --runs 3 --only match      # a smoke run of the matching rows

Exit status: 0 when every piece ran or skipped, 1 when one failed, 2 on bad usage.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(SRC, "tests", "bench")
SKIP = 77


def pieces(only):
    out = []
    for name in sorted(os.listdir(BENCH)):
        path = os.path.join(BENCH, name)
        if name.startswith("cmp-") and os.path.isfile(path) and os.access(path, os.X_OK) and \
                not name.endswith("~") and (not only or only in name):
            out.append(path)
    return out


def run_piece(path, env, json_path):
    """Runs one piece, passing its output through to stderr; returns (status, reason, seconds, rows)."""
    name = os.path.basename(path)
    print(f"== {name}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    tail = []
    p = subprocess.Popen([path], env=env, stdout=sys.stderr, stderr=subprocess.PIPE, cwd=SRC)
    for raw in p.stderr:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        sys.stderr.write(line + "\n")
        if line.strip():
            tail = (tail + [line.strip()])[-5:]
    rc = p.wait()
    secs = time.monotonic() - t0
    if rc == SKIP:
        return "skipped", tail[-1] if tail else "exit 77", secs, []
    if rc != 0:
        return "failed", f"exit {rc}" + (f": {tail[-1]}" if tail else ""), secs, []
    try:
        with open(json_path) as f:
            rows = json.load(f)["rows"]
        for r in rows:
            for key in ("measure", "unit", "better", "results"):
                if key not in r:
                    raise ValueError(f"a row has no '{key}'")
            if r["better"] not in ("lower", "higher"):
                raise ValueError(f"{r['measure']}: better is '{r['better']}'")
    except (OSError, ValueError, KeyError, TypeError) as e:
        return "failed", f"bad {os.path.basename(json_path)}: {e}", secs, []
    for r in rows:
        r["piece"] = name
    return "ok", "", secs, rows


def ratio(row, tool):
    """nftjail's advantage over tool: > 1 when nftjail is better; None when not comparable."""
    res = row["results"]
    if "nftjail" not in res or not res["nftjail"] or not res.get(tool):
        return None
    nj, other = statistics.median(res["nftjail"]), statistics.median(res[tool])
    if row["better"] == "higher":
        return nj / other if other > 0 else None
    return other / nj if nj > 0 else None


def target_met(row, tool):
    if tool != "nftjail" or row.get("target") is None or not row["results"].get("nftjail"):
        return None
    med = statistics.median(row["results"]["nftjail"])
    return med >= row["target"] if row["better"] == "higher" else med <= row["target"]


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:,.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"


def table(rows):
    """The table as a header and lists of cells; nftjail first, then the others by name."""
    head = ["measure", "tool", "min", "median", "max", "unit", "vs nftjail", "target met"]
    body = []
    for row in rows:
        tools = sorted(row["results"], key=lambda t: (t != "nftjail", t))
        for i, tool in enumerate(tools):
            vals = sorted(row["results"][tool])
            if not vals:
                continue
            met = target_met(row, tool)
            body.append([row["measure"] if i == 0 else "", tool, fmt(vals[0]), fmt(statistics.median(vals)),
                         fmt(vals[-1]), row["unit"], "1" if tool == "nftjail" else fmt_ratio(ratio(row, tool)),
                         "" if met is None else
                         ("yes" if met else "NO") + (f" ({row['target_text']})" if row.get("target_text") else "")])
    return head, body


def print_table(head, body):
    w = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    right = {2, 3, 4, 6}
    line = lambda cells: "  ".join(c.rjust(w[i]) if i in right else c.ljust(w[i]) for i, c in enumerate(cells))
    print(line(head).rstrip())
    print("  ".join("-" * x for x in w))
    for r in body:
        print(line(r).rstrip())


def md_escape(s):
    return s.replace("|", "\\|")


def markdown(meta, head, body, rows, piece_status):
    out = [f"Measured {meta['date']} on {meta['hostname']} ({meta['cores']} cores, {meta['cpu']}, "
           f"kernel {meta['kernel']}); " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
           f"Command: `{meta['command']}` ({meta['runs']} run{'s' if meta['runs'] != 1 else ''} per tool, by turns"
           f"{', quick sizes' if meta['quick'] else ''}).", "",
           "| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in body:
        out.append("| " + " | ".join(md_escape(c) for c in r) + " |")
    out += ["", "\"vs nftjail\" is the ratio of the medians, turned so that above 1 means nftjail is better.", ""]
    for row in rows:
        if row.get("note"):
            out.append(f"- {md_escape(row['measure'])}: {row['note']}")
    skipped = [(n, why) for n, st, why, _ in piece_status if st != "ok"]
    for n, why in skipped:
        out.append(f"- `{n}` did not run: {why}")
    return "\n".join(out) + "\n"


def version_of(pkg, cmd):
    if shutil.which("dpkg-query"):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.startswith("install ok installed"):
            return p.stdout.split()[-1]
    if cmd and shutil.which(cmd[0]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip().splitlines()[0].split()[-1]
    return None


def machine(args, nftjail):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    p = subprocess.run([nftjail, "--version"], capture_output=True, text=True) if os.access(nftjail, os.X_OK) else None
    if p and p.returncode == 0:
        versions["nftjail"] = p.stdout.split()[-1]
    g = subprocess.run(["git", "-C", SRC, "describe", "--always", "--dirty"], capture_output=True, text=True)
    if g.returncode == 0:
        versions["nftjail"] = versions.get("nftjail", "?") + f" ({g.stdout.strip()})"
    for pkg, cmd in (("fail2ban", ["fail2ban-client", "--version"]), ("sshguard", ["sshguard", "-v"])):
        v = version_of(pkg, cmd)
        if v:
            versions[pkg] = v
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "hostname": socket.gethostname(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu,
        "versions": versions,
        "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], SRC)
                                                     if sys.argv[0].startswith(SRC) else sys.argv[0]] + sys.argv[1:]),
        "runs": args.runs,
        "quick": args.quick,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"), help="the meson build directory")
    ap.add_argument("--runs", type=int, default=5, help="runs per tool (default 5)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run (BENCH_QUICK=1)")
    ap.add_argument("--only", metavar="SUBSTRING", help="run only the pieces whose name contains SUBSTRING")
    ap.add_argument("--json", metavar="FILE", help="write the merged rows and the machine here")
    ap.add_argument("--markdown", metavar="FILE", help="write the table as Markdown here (for the README)")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")

    build = os.path.abspath(a.build)
    nftjail = os.path.join(build, "src", "cli", "nftjail")
    todo = pieces(a.only)
    if not todo:
        print(f"compare: no tests/bench/cmp-* piece{' matches ' + repr(a.only) if a.only else ''}", file=sys.stderr)
        return 2
    meta = machine(a, nftjail)

    rows, status = [], []
    tmp = tempfile.mkdtemp(prefix="nftjail-compare.")
    try:
        for path in todo:
            name = os.path.basename(path)
            json_path = os.path.join(tmp, name + ".json")
            env = dict(os.environ, SRCDIR=SRC, BUILDDIR=build, NFTJAILD=os.path.join(build, "src", "daemon", "nftjaild"),
                       NFTJAIL=nftjail, BENCH_RUNS=str(a.runs), BENCH_JSON=json_path)
            env.pop("BENCH_QUICK", None)
            if a.quick:
                env["BENCH_QUICK"] = "1"
            st, why, secs, got = run_piece(path, env, json_path)
            status.append((name, st, why, secs))
            seen = {r["measure"] for r in rows}
            for r in got:
                if r["measure"] in seen:
                    print(f"compare: {name}: measure '{r['measure']}' is also in an earlier piece", file=sys.stderr)
            rows += got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    head, body = table(rows)
    print(f"\nnftjail vs fail2ban and sshguard, {meta['date']}, {meta['hostname']}, {meta['cores']} cores, "
          f"{meta['cpu']}, kernel {meta['kernel']}, {a.runs} run{'s' if a.runs != 1 else ''} per tool{', quick' if a.quick else ''}")
    print(", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    print()
    if body:
        print_table(head, body)
        print("\n(vs nftjail: ratio of the medians; above 1 means nftjail is better)")
    for row in rows:
        if row.get("note"):
            print(f"  {row['measure']}: {row['note']}")
    for name, st, why, secs in status:
        print(f"{name}: {st} ({secs:.0f} s){': ' + why if why else ''}")

    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(meta, pieces=[{"name": n, "status": st, "reason": why, "seconds": round(s, 1)}
                                         for n, st, why, s in status], rows=rows), f, indent=2)
            f.write("\n")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(meta, head, body, rows, status))
    return 1 if any(st == "failed" for _, st, _, _ in status) else 0


if __name__ == "__main__":
    sys.exit(main())
