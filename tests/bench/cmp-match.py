#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Filter matching, lines/s on one core: nftjail regex against fail2ban-regex and sshg-parser.

A piece of tests/bench/compare.py (see there for the environment it reads); usable alone:

  BENCH_JSON=/tmp/match.json SRCDIR=$PWD NFTJAIL=build/src/cli/nftjail tests/bench/cmp-match.py

Rows:
- "sshd filter, lines/s, one core": `nftjail regex LOG sshd` on 1,000,000 generated lines
  (gen-authlog.py --addresses 5000 --seed 1), `fail2ban-regex` with its sshd filter and
  `/usr/libexec/sshguard/sshg-parser < LOG`, run by turns, every tool pinned to the same core.
  fail2ban-regex (about 30,000 lines/s) reads a 100,000-line prefix of the same log. Before the
  timed runs, both filters are run once on that prefix and their failures compared line by line.
- "all shipped jails, lines/s, one core": every filter a jail in conf/jail.conf uses (sshd,
  proxmox, recidive), each line through each, in one `nftjail regex LOG F1 F2 ...` pass, against
  fail2ban-regex once per filter fail2ban has (lines / the sum of the times).
Times are wall clock of the whole process (start, reading the file, date parsing, matching).
fail2ban and sshguard are optional; missing ones are left out. Needs no root.
"""
import collections
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchrows  # noqa: E402

SRC = os.environ.get("SRCDIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NFTJAIL = os.environ.get("NFTJAIL") or os.path.join(SRC, "build", "src", "nftjail")
RUNS = max(1, int(os.environ.get("BENCH_RUNS") or 5))
QUICK = os.environ.get("BENCH_QUICK") == "1"
LINES = 100_000 if QUICK else 1_000_000
F2B_LINES = 20_000 if QUICK else 100_000
ADDRESSES = 5000
F2B_FILTERS = "/etc/fail2ban/filter.d"
SSHG_PARSER = "/usr/libexec/sshguard/sshg-parser"
CONF = os.path.join(SRC, "conf")
CPU = max(os.sched_getaffinity(0))


def log(msg):
    print(f"cmp-match: {msg}", file=sys.stderr, flush=True)


def pin():
    os.sched_setaffinity(0, {CPU})


def run(cmd, stdin=None):
    """Runs cmd on CPU, returns (seconds, stdout)."""
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=pin)
        dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode(errors='replace')[-400:]}")
    return dt, p.stdout.decode("utf-8", "replace")


def f2b_spec(name):
    """fail2ban's filter by name; its sshd filter taught sshd-session when it predates it (< 1.1)."""
    path = os.path.join(F2B_FILTERS, name + ".conf")
    if not os.path.exists(path):
        return None
    if name == "sshd":
        with open(path) as f:
            if "sshd-session" not in f.read():
                return 'sshd[_daemon="sshd(?:-session)?"]'
    return name


def shipped_filters():
    """The filter of every jail in conf/jail.conf, in order, without options."""
    cp = configparser.RawConfigParser(strict=False, interpolation=None, default_section="DEFAULT")
    cp.read(os.path.join(CONF, "jail.conf"))
    out = []
    for sect in cp.sections():
        if sect == "INCLUDES":
            continue
        spec = cp.get(sect, "filter", fallback=sect).split("\n")[0].strip()
        name = spec.split("[", 1)[0].replace("%(__name__)s", sect)
        if name and "%(" not in name and name not in out and os.path.exists(os.path.join(CONF, "filter.d", name + ".conf")):
            out.append(name)
    return out


def nj_count(summary):
    """Failures per filter from nftjail regex's summary (in argument order)."""
    return [int(n) for n in re.findall(r"^Failregex: (\d+) total", summary, re.M)]


def kind(line):
    """The first words of a message, to name what one filter finds and the other not."""
    m = re.match(r"^\S+ +\d+ [\d:]+ \S+ [^:]+: (?:error: |fatal: )?(.*)$", line)
    words = (m.group(1) if m else line).split()
    return " ".join(words[:4])


def agreement(prefix, spec):
    """Runs both sshd filters once on prefix and compares the lines they call failures.

    fail2ban-regex's summary counts a line that one regex matches as a failure and another as
    <F-NOFAIL> as ignored (it runs every regex); fail2ban-server takes the first regex that
    matches, as its "-o msg" output does, so that is what is compared."""
    _, out = run([NFTJAIL, "regex", "--config-dir", CONF, "--json", prefix, "sshd"])
    with open(prefix, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    nj = {lines[json.loads(x)["line"] - 1] for x in out.splitlines() if x.strip()}
    _, out = run(["fail2ban-regex", "-o", "msg", prefix, spec])
    f2b = {x for x in out.splitlines() if x.strip()}
    only_f2b = collections.Counter(kind(x) for x in f2b - nj)
    only_nj = collections.Counter(kind(x) for x in nj - f2b)
    text = (f"on those lines fail2ban finds {len(f2b):,} failures (as fail2ban-server: first regex wins), "
            f"nftjail {len(nj):,}, {len(f2b & nj):,} of them the same lines")
    if only_f2b:
        text += "; fail2ban only: " + ", ".join(f"'{k}' {n:,}" for k, n in only_f2b.most_common(3))
    if only_nj:
        text += "; nftjail only: " + ", ".join(f"'{k}' {n:,}" for k, n in only_nj.most_common(3))
    return text


def main():
    if not os.access(NFTJAIL, os.X_OK):
        log(f"no nftjail at {NFTJAIL} (build first, or set NFTJAIL)")
        return 1
    have_f2b = shutil.which("fail2ban-regex") is not None and f2b_spec("sshd") is not None
    have_sshg = os.access(SSHG_PARSER, os.X_OK)
    filters = shipped_filters()
    f2b_all = [(n, f2b_spec(n)) for n in filters if have_f2b and f2b_spec(n)]

    tmp = tempfile.mkdtemp(prefix="nftjail-cmp-match.")
    try:
        full = os.path.join(tmp, "auth.log")
        prefix = os.path.join(tmp, "auth-prefix.log")
        log(f"generating {LINES:,} lines")
        with open(full, "w") as f:
            subprocess.run([sys.executable, os.path.join(SRC, "tests", "bench", "gen-authlog.py"), "--lines",
                            str(LINES), "--addresses", str(ADDRESSES), "--seed", "1"], stdout=f, check=True)
        with open(full) as f, open(prefix, "w") as g:
            for i, line in enumerate(f):
                if i >= F2B_LINES:
                    break
                g.write(line)

        agree = agreement(prefix, f2b_spec("sshd")) if have_f2b else None

        sshd = collections.defaultdict(list)
        alljails = collections.defaultdict(list)
        counts = {}
        for r in range(RUNS):
            log(f"run {r + 1}/{RUNS} on CPU {CPU}")
            dt, out = run([NFTJAIL, "regex", "--config-dir", CONF, full, "sshd"])
            sshd["nftjail"].append(LINES / dt)
            counts["nftjail"] = nj_count(out)[0]
            if have_f2b:
                dt, _ = run(["fail2ban-regex", "--print-no-missed", "--print-no-ignored", prefix, f2b_spec("sshd")])
                sshd["fail2ban"].append(F2B_LINES / dt)
            if have_sshg:
                dt, out = run([SSHG_PARSER], stdin=full)
                sshd["sshguard"].append(LINES / dt)
                counts["sshguard"] = sum(1 for x in out.splitlines() if x.strip())

            dt, out = run([NFTJAIL, "regex", "--config-dir", CONF, full] + filters)
            alljails["nftjail"].append(LINES / dt)
            counts["nftjail-all"] = nj_count(out)
            if f2b_all:
                total = 0.0
                for _, spec in f2b_all:
                    dt, _ = run(["fail2ban-regex", "--print-no-missed", "--print-no-ignored", prefix, spec])
                    total += dt
                alljails["fail2ban"].append(F2B_LINES / total)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    note = (f"{LINES:,} lines of gen-authlog.py --addresses {ADDRESSES} --seed 1, whole process timed, all tools "
            f"pinned to one core; nftjail finds {counts['nftjail']:,} failures")
    if have_f2b:
        note += f"; fail2ban-regex with filter {f2b_spec('sshd')} on the first {F2B_LINES:,} lines (rate reported)"
        if agree:
            note += "; " + agree
    if have_sshg:
        note += f"; sshg-parser reports {counts['sshguard']:,} attacks (all its services)"
    rows = [{
        "measure": "sshd filter, lines/s, one core",
        "unit": "lines/s", "better": "higher",
        "target": 2_000_000, "target_text": ">= 2,000,000 lines/s",
        "results": dict(sshd),
        "note": note,
    }]
    note = (f"filters {', '.join(filters)} (every jail in conf/jail.conf), each line through each, one "
            f"`nftjail regex` pass over {LINES:,} lines; failures "
            + ", ".join(f"{n} {c:,}" for n, c in zip(filters, counts["nftjail-all"])))
    if f2b_all:
        missing = [n for n in filters if n not in dict(f2b_all)]
        note += (f"; fail2ban-regex once per filter it has ({', '.join(n for n, _ in f2b_all)}) on the first "
                 f"{F2B_LINES:,} lines, lines / sum of the times"
                 + (f" (it has no {', '.join(missing)} filter)" if missing else ""))
    rows.append({
        "measure": "all shipped jails, lines/s, one core",
        "unit": "lines/s", "better": "higher",
        "target": 1_000_000, "target_text": ">= 1,000,000 lines/s",
        "results": dict(alljails),
        "note": note,
    })

    benchrows.emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
