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
  sudo tests/bench/compare.py --build build --write-doc docs/PERFORMANCE.md   # the published page

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


def with_git(meta):
    """The versions, nftjail's with the git description of the tree (for --markdown and --json)."""
    v = dict(meta["versions"])
    if meta.get("git"):
        v["nftjail"] = v.get("nftjail", "?") + f" ({meta['git']})"
    return v


def markdown(meta, head, body, rows, piece_status):
    out = [f"Measured {meta['date']} on {meta['hostname']} ({meta['cores']} cores, {meta['cpu']}, "
           f"kernel {meta['kernel']}); " + ", ".join(f"{k} {v}" for k, v in with_git(meta).items()) + ".",
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


def loadavg():
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them, or None."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def mem_gib():
    """MemTotal in GiB, or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return None


def os_release():
    """The distribution, e.g. "Debian GNU/Linux 12 (bookworm), 12.11", or None."""
    name = None
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        with open("/etc/debian_version") as f:
            deb = f.read().strip()
        name = f"{name}, {deb}" if name else f"Debian {deb}"
    except OSError:
        pass
    return name


DOC_PREAMBLE = """\
# Performance

This page compares nftjail with what an admin would run instead (fail2ban; sshguard's log
parser for the matching rows) on the same input, in the same run, on the same machine. It is
written whole by `tests/bench/compare.py --write-doc docs/PERFORMANCE.md`; do not edit it by
hand, run that again.

## How the figures are made

- `tests/bench/compare.py` runs every `tests/bench/cmp-*` piece: filter matching, journal and
  file reaction time, bursts of attackers, bans per second into the kernel, restoring bans at
  start, memory, start-up, floods. Each piece runs every tool several times by turns (`--runs`),
  so that a slow moment of the machine hits all tools alike; the flood runs once (minutes), and its
  status row is the slowest of the calls made during it.
- The table gives, per measure and tool, the smallest, median and largest figure over the runs.
  "vs nftjail" is the ratio of the medians, turned so that above 1 means nftjail is better,
  whichever way better goes for that measure. "target met" says whether nftjail's median meets
  the figure the project holds itself to (shown in brackets).
- Pieces that need root make their own namespaces: a network namespace, where the kernel's own
  nf_tables holds a private ruleset, and for the daemons a mount and cgroup namespace with a
  private `systemd-journald`; they never touch the host's firewall or journal. fail2ban-server
  runs only inside those namespaces, with its socket and database in a temporary directory; its
  service need not run.
- fail2ban and sshguard are the Debian packages (`apt-get install fail2ban sshguard`), with their
  stock filters, `banaction = nftables-multiport` for fail2ban. A tool that is not installed is
  left out of the table.
- Where a tool is too slow to be given the full size (fail2ban bans one `nft` process at a
  time), it gets a smaller size; the figure's note below the table says so, and how the figure
  was scaled.
- The log files are made by `tests/bench/gen-authlog.py --lines N --addresses K --seed S`:
  OpenSSH failures of every kind, about 60% bastion noise, K distinct attackers of which 10% IPv6,
  and Proxmox `pvedaemon` lines; the same arguments give the same bytes. Addresses are from the
  documentation ranges. The many-jails rows (`cmp-jails.py`) read one mixed log of
  `tests/bench/gen-mixedlog.py --lines N --seed S` instead: that auth log as 40% of it, nginx and
  Apache access logs (35%) and error logs, Postfix and Dovecot, vsftpd, ProFTPD, Pure-FTPd, MySQL,
  WordPress and Drupal lines, with every shipped filter on it.
- Other work on the machine changes the figures; the load average below says how busy it was.
  Times that include waiting (start to READY, reaction times, their p99 most) suffer most;
  CPU-time rows, and ratios of tools measured by turns, suffer least.

To measure your own machine, from a build (`meson setup build && ninja -C build`), as root:

```
tests/bench/compare.py --build build --write-doc /tmp/PERFORMANCE.md
```

`--quick` uses smaller sizes, `--only SUBSTRING` runs the pieces whose name contains it,
`--markdown FILE` writes the table alone and `--json FILE` the rows and the machine. The
per-module benchmarks, and a `--quick` comparison, run with
`meson test -C build --benchmark --verbose`; they print their figures and never fail.
"""


def write_doc(path, meta, head, body, rows, piece_status, seconds):
    """The whole docs/PERFORMANCE.md: the fixed preamble, the machine and command, the table, and the
    method of each figure. Versions without git descriptions: the page is for users."""
    runs = meta["runs"]
    out = [DOC_PREAMBLE, "## Results", ""]
    out.append(f"- Date: {meta['date']}.")
    out.append(f"- Machine: {meta['cpu']}, {meta['cores']} cores"
               + (f", {meta['mem_gib']:.1f} GiB RAM" if meta.get("mem_gib") else "") + f", kernel {meta['kernel']}"
               + (f", {meta['os']}" if meta.get("os") else "") + ".")
    la = meta.get("loadavg_start")
    la_end = meta.get("loadavg_end")
    if la:
        out.append(f"- Load average (1, 5, 15 min) at the start: {la}" + (f"; at the end: {la_end}" if la_end else "") + ".")
    out.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".")
    out.append(f"- Command: `{meta['command']}`, {runs} run{'s' if runs != 1 else ''} per tool, by turns; "
               f"it took {seconds / 60:.0f} min." if seconds >= 120 else f"it took {seconds:.0f} s.")
    if not meta["quick"]:
        out.append("- Sizes: the full sizes (no `--quick`).")
    if meta["quick"]:
        out.append("- Sizes: `--quick`, the smaller sizes (fewer lines, bans and attackers than a full run; "
                   "the notes give them). Fixed costs such as start-up weigh more in them: compare them "
                   "with another quick run, not with a full one.")
    out += ["", "| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for r in body:
        out.append("| " + " | ".join(md_escape(c) for c in r) + " |")
    out += ["", "## What each figure is", ""]
    for row in rows:
        if row.get("note"):
            out.append(f"- **{md_escape(row['measure'])}**: {row['note']}")
    missing = [(n, why) for n, st, why, _ in piece_status if st != "ok"]
    if missing:
        out += ["", "Pieces that did not run on this machine:", ""]
        for n, why in missing:
            out.append(f"- `{n}`: {why}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


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
    git = g.stdout.strip() if g.returncode == 0 else None
    for pkg, cmd in (("fail2ban", ["fail2ban-client", "--version"]), ("sshguard", ["sshguard", "-v"])):
        v = version_of(pkg, cmd)
        if v:
            versions[pkg] = v
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "hostname": socket.gethostname(),
        "git": git,
        "os": os_release(),
        "loadavg_start": loadavg(),
        "mem_gib": mem_gib(),
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
    ap.add_argument("--markdown", metavar="FILE", help="write the table as Markdown here")
    ap.add_argument("--write-doc", metavar="FILE",
                    help="write the whole performance page here (docs/PERFORMANCE.md): method, machine, command, table")
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
    t_start = time.monotonic()

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

    meta["loadavg_end"] = loadavg()
    head, body = table(rows)
    print(f"\nnftjail vs fail2ban and sshguard, {meta['date']}, {meta['hostname']}, {meta['cores']} cores, "
          f"{meta['cpu']}, kernel {meta['kernel']}, {a.runs} run{'s' if a.runs != 1 else ''} per tool{', quick' if a.quick else ''}")
    print(", ".join(f"{k} {v}" for k, v in with_git(meta).items()))
    print(f"load average at the start {meta['loadavg_start']}, at the end {meta['loadavg_end']}")
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
            json.dump(dict(meta, versions=with_git(meta), pieces=[{"name": n, "status": st, "reason": why, "seconds": round(s, 1)}
                                         for n, st, why, s in status], rows=rows), f, indent=2)
            f.write("\n")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(meta, head, body, rows, status))
    if a.write_doc:
        os.makedirs(os.path.dirname(os.path.abspath(a.write_doc)), exist_ok=True)
        write_doc(a.write_doc, meta, head, body, rows, status, time.monotonic() - t_start)
    return 1 if any(st == "failed" for _, st, _, _ in status) else 0


if __name__ == "__main__":
    sys.exit(main())
