#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the elements of nftables sets as lines tests can grep.

usage: nftq.py [--family inet] [--table nftjail] [--counters] [SET]

Each element prints as
    addr proto port timeout expires comment
(with SET), or the same prefixed by the set name (without SET, all sets).
addr is "a.b.c.d", "2001:db8::/64" for a prefix or "a-b" for a range;
timeout and expires are in seconds as nft -j reports them; a field that the
element lacks prints as "-"; the comment comes last and may contain spaces.
--counters adds "packets bytes" before the comment.
Exit status: 0 (even with no elements), 1 if the table or SET does not exist.

An IPv6 ban is in one of three sets (nft/nftjail.nft): a hash set for single addresses
(v6_port_128, v6_128), a hash set for /64 prefixes keyed by the prefix's first address
(v6_port_64, v6_64), or the interval set for any other prefix (v6_port, v6). SET "v6_port"
or "v6" lists the three of its kind (--exact: only the set of that name), and the elements of
a /64 hash set print as the prefix they stand for, "2001:db8::/64", as in the interval set.
"""

import argparse
import json
import subprocess
import sys


GROUPS = {"v6_port": ("v6_port_128", "v6_port_64", "v6_port"), "v6": ("v6_128", "v6_64", "v6")}


def fmt_value(v):
    if isinstance(v, dict):
        if "prefix" in v:
            return "%s/%s" % (v["prefix"]["addr"], v["prefix"]["len"])
        if "range" in v:
            return "%s-%s" % tuple(fmt_value(x) for x in v["range"])
        if "elem" in v:
            return fmt_value(v["elem"]["val"])
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def element_fields(e, counters):
    meta = {}
    if isinstance(e, dict) and "elem" in e:
        meta = e["elem"]
        val = meta["val"]
    else:
        val = e
    if isinstance(val, dict) and "concat" in val:
        parts = [fmt_value(x) for x in val["concat"]]
    else:
        parts = [fmt_value(val)]
    parts += ["-"] * (3 - len(parts))
    fields = list(parts)
    fields.append(str(meta.get("timeout", "-")))
    fields.append(str(meta.get("expires", "-")))
    if counters:
        c = meta.get("counter") or {}
        fields.append(str(c.get("packets", "-")))
        fields.append(str(c.get("bytes", "-")))
    fields.append(meta.get("comment", "-"))
    return fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--family", default="inet")
    ap.add_argument("--table", default="nftjail")
    ap.add_argument("--counters", action="store_true")
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("set", nargs="?")
    args = ap.parse_args()

    if args.set:
        cmd = ["nft", "-j", "list", "set", args.family, args.table, args.set]
        group = GROUPS.get(args.set) if not args.exact else None
        if group:
            cmd = ["nft", "-j", "list", "table", args.family, args.table]
    else:
        cmd = ["nft", "-j", "list", "table", args.family, args.table]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        sys.stderr.write("nftq: %s: %s" % (" ".join(cmd), p.stderr))
        return 1
    for obj in json.loads(p.stdout).get("nftables", []):
        s = obj.get("set")
        if not s or (args.set and group and s["name"] not in group):
            continue
        for e in s.get("elem", []):
            fields = element_fields(e, args.counters)
            if s["name"].endswith("_64"):
                fields[0] += "/64"
            if not args.set:
                fields.insert(0, s["name"])
            print(" ".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
