#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fail2ban's stock filter files against fail2ban's own sample logs, through `nftjail regex`.

An admin moving over copies /etc/fail2ban/filter.d into nftjail's filter.d. fail2ban's package
ships, for most filters, a sample log whose lines are annotated with what fail2ban expects
("# failJSON: {...}" before a line: match or not, the host, the time). This runs every sample
through the filter of the same name (fail2ban's file; nftjail's own common.conf and shipped
filters stay, unless --theirs) and counts, per filter:
  - load: whether the filter loads at all (what fails to load is said by nftjail, first line shown);
  - right/wrong: annotated lines where nftjail agrees with fail2ban on match, host and time
    (month, day and time of day in Europe/Zurich, as fail2ban's tests use; the year is not
    compared: lines without one get it from today).
Annotations with a "constraint" (an expression on the options) are not checked; a sample's
"filterOptions" (e.g. {"mode": "aggressive"}) are passed as filter[mode=aggressive]; option sets
with test-only keys are skipped.

Nothing of fail2ban is committed: the files are read where its Debian package puts them
(--f2b-root or $F2B_ROOT; default: / when fail2ban is installed, else /var/cache/nftjail-tests/fail2ban where
tools/fetch-f2b-samples.sh unpacks the package), etc/fail2ban/filter.d and the sample logs under
usr/lib/python3/dist-packages/fail2ban/tests/files/logs.

Usage: f2b-samples.py --nftjail PATH --conf DIR [--f2b-root DIR] [--json OUT] [--expect FILE]
  [--show FILTER] [--theirs]
--expect FILE: exit 1 unless every filter listed there (one per line) loads and gets every
  checked line right. --theirs also copies all of etc/fail2ban over nftjail's configuration (jail.conf,
  paths-*.conf, jail.d, ...) and fails unless `nftjail test-config` accepts it with fail2ban's default
  sshd jail. Exit 77 when fail2ban's files are not there.
"""
import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LOGS_REL = "usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
# where tools/fetch-f2b-samples.sh unpacks fail2ban's package when it is not installed
UNPACKED = "/var/cache/nftjail-tests/fail2ban"
FILTERS_REL = "etc/fail2ban/filter.d"


def parse_sample(path):
    """Returns [(option_sets, [(line, expectation or None)])]: segments split at filterOptions."""
    segments = [([{}], [])]
    pending = None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            line = raw.rstrip("\n")
            s = line.lstrip()
            if s.startswith("#"):
                body = s[1:].lstrip()
                if body.startswith("failJSON:"):
                    try:
                        pending = json.loads(body[len("failJSON:"):])
                    except ValueError:
                        pending = {"invalid": True}
                elif body.startswith("filterOptions:"):
                    try:
                        opts = json.loads(body[len("filterOptions:"):])
                    except ValueError:
                        opts = [{}]
                    if isinstance(opts, dict):
                        opts = [opts]
                    segments.append((opts, []))
                continue
            if not line.strip():
                continue
            segments[-1][1].append((line, pending))
            pending = None
    return [seg for seg in segments if seg[1]]


def filter_spec(name, opts):
    if not opts:
        return name
    return "%s[%s]" % (name, ", ".join('%s="%s"' % (k, v) for k, v in sorted(opts.items())))


def same_host(a, b):
    """Addresses compare by value (2001:DB8::1 is 2001:db8::1); anything else as text."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def expected_mdhms(t):
    """MM-DDTHH:MM:SS of an annotation's time; some write a day without its zero (2005-03-7T...)."""
    m = re.match(r"\d+-(\d+)-(\d+)T(\d+):(\d+):(\d+)", t)
    return "%02d-%02dT%02d:%02d:%02d" % tuple(int(x) for x in m.groups()) if m else t[5:19]


def local_mdhms(epoch):
    return time.strftime("%m-%dT%H:%M:%S", time.localtime(epoch))


def run_filter(nftjail, conf, spec, lines):
    """Runs `nftjail regex --json`; returns (error or None, {line number: (host, time)})."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", errors="surrogateescape", delete=False) as t:
        for line in lines:
            t.write(line + "\n")
        log = t.name
    try:
        p = subprocess.run([nftjail, "regex", "--config-dir", conf, "--json", log, spec],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.unlink(log)
    if p.returncode != 0:
        err = (p.stderr.decode(errors="replace").strip().splitlines() or ["exit %d" % p.returncode])[0]
        return err, {}
    hits = {}
    for out in p.stdout.decode(errors="replace").splitlines():
        try:
            o = json.loads(out)
        except ValueError:
            continue
        hits.setdefault(o["line"], (o.get("host"), o.get("time")))
    return None, hits


def check_filter(nftjail, conf, name, sample, show):
    res = {"filter": name, "load": True, "error": None, "right": 0, "wrong": 0, "unchecked": 0}
    for opt_sets, entries in parse_sample(sample):
        for opts in opt_sets:
            if any(k.startswith("test.") for k in opts):
                res["unchecked"] += sum(1 for _, e in entries if e)
                continue
            spec = filter_spec(name, opts)
            err, hits = run_filter(nftjail, conf, spec, [l for l, _ in entries])
            if err:
                res["load"] = False
                res["error"] = err
                return res
            for i, (line, exp) in enumerate(entries, 1):
                if not exp:
                    continue
                if "constraint" in exp or "invalid" in exp:
                    res["unchecked"] += 1
                    continue
                got = hits.get(i)
                why = None
                if bool(exp.get("match")) != (got is not None):
                    why = "expected %s" % ("a match" if exp.get("match") else "no match")
                elif got:
                    host = exp.get("host")
                    if isinstance(host, list):
                        host = host[0] if host else None
                    if host is not None and not same_host(got[0], host) and not (
                            # fail2ban's samples name hosts by DNS name at times; nftjail never resolves
                            not any(c in host for c in ".:") or not got[0]):
                        why = "host %s, expected %s" % (got[0], host)
                    elif exp.get("time") and (got[1] is None or local_mdhms(got[1]) != expected_mdhms(exp["time"])):
                        why = "time %s, expected %s" % (
                            "none" if got[1] is None else local_mdhms(got[1]), expected_mdhms(exp["time"]))
                if why:
                    res["wrong"] += 1
                    if show:
                        print("  %s: %s\n    %s" % (spec, why, line[:200]))
                else:
                    res["right"] += 1
    return res


def check_whole_tree(nftjail, conf, f2b_root):
    """All of /etc/fail2ban copied over nftjail's configuration (jail.conf, paths-*.conf, jail.d,
    filter.d, action.d): `nftjail test-config` must accept it and run fail2ban's Debian default, the
    sshd jail. Returns an error text or None."""
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, "conf")
        shutil.copytree(conf, dst)
        src = os.path.join(f2b_root, "etc/fail2ban")
        for name in os.listdir(src):
            s, d = os.path.join(src, name), os.path.join(dst, name)
            if os.path.isdir(s):
                shutil.copytree(s, d, dirs_exist_ok=True)
            else:
                shutil.copy(s, d)
        p = subprocess.run([nftjail, "test-config", "--config-dir", dst], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        if p.returncode != 0:
            return "test-config exit %d:\n%s" % (p.returncode, err)
        if "[sshd]" not in out:
            return "test-config accepted it but runs no sshd jail:\n%s" % out
        print("all of %s copied over: test-config accepts it; warnings:\n  %s" %
              (src, "\n  ".join(l for l in err.splitlines() if l) or "(none)"))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nftjail", required=True)
    ap.add_argument("--conf", required=True, help="nftjail's shipped configuration directory")
    ap.add_argument("--f2b-root", default=os.environ.get("F2B_ROOT"))
    ap.add_argument("--json")
    ap.add_argument("--expect")
    ap.add_argument("--show", action="append", default=[], help="print the wrong lines of FILTER (or 'all')")
    ap.add_argument("--theirs", action="store_true", help="fail2ban's file also where nftjail ships one")
    a = ap.parse_args()

    if not a.f2b_root:
        a.f2b_root = "/" if os.path.isdir(os.path.join("/", LOGS_REL)) else UNPACKED
    logs = os.path.join(a.f2b_root, LOGS_REL)
    filters = os.path.join(a.f2b_root, FILTERS_REL)
    if not os.path.isdir(logs) or not os.path.isdir(filters):
        print("fail2ban's filters and sample logs are not under %s: skipped" % a.f2b_root)
        return 77
    os.environ["TZ"] = "Europe/Zurich"
    time.tzset()

    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "conf")
        shutil.copytree(a.conf, conf)
        fdir = os.path.join(conf, "filter.d")
        for f in sorted(os.listdir(filters)):
            src = os.path.join(filters, f)
            if os.path.isfile(src) and (a.theirs or not os.path.exists(os.path.join(fdir, f))):
                shutil.copy(src, os.path.join(fdir, f))
        results = []
        for name in sorted(os.listdir(logs)):
            sample = os.path.join(logs, name)
            if not os.path.isfile(sample) or not os.path.isfile(os.path.join(fdir, name + ".conf")):
                continue
            show = "all" in a.show or name in a.show
            results.append(check_filter(a.nftjail, conf, name, sample, show))

    loaded = [r for r in results if r["load"]]
    perfect = [r for r in loaded if r["wrong"] == 0]
    for r in results:
        if not r["load"]:
            print("%-24s does not load: %s" % (r["filter"], r["error"]))
        elif r["wrong"]:
            print("%-24s %4d right %4d wrong" % (r["filter"], r["right"], r["wrong"]))
    right = sum(r["right"] for r in loaded)
    wrong = sum(r["wrong"] for r in loaded)
    print("filters with a sample log: %d; load: %d; every checked line right: %d" %
          (len(results), len(loaded), len(perfect)))
    print("checked lines of the filters that load: %d right, %d wrong (%d not checked: constraints)" %
          (right, wrong, sum(r["unchecked"] for r in results)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "right": right, "wrong": wrong}, f, indent=1)
    if a.theirs:
        err = check_whole_tree(a.nftjail, a.conf, a.f2b_root)
        if err:
            print("FAIL: %s" % err)
            return 1
    if a.expect:
        bad = []
        byname = {r["filter"]: r for r in results}
        for name in open(a.expect).read().split():
            r = byname.get(name)
            if r is None or not r["load"] or r["wrong"]:
                bad.append(name)
        if bad:
            print("FAIL: expected to load and get every sample right: %s" % " ".join(bad))
            return 1
        print("every expected filter loads and gets its samples right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
