#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Flood driver for bench-flood.sh and test-flood.sh (in the integration rig).

    flood.py feed --mode file|journal --lines N --addresses A --maxretry M --seed S --expect FILE [--out PATH]
        writes N sshd failure lines from A distinct addresses, shuffled, to PATH (file mode: syslog
        lines, appended) or stdout (journal mode: the message only, for a logger), with a
        legitimate user's logins between them (LEGIT: maxretry - 1 failed passwords in all, and
        accepted ones), then maxretry failures of SENTINEL (its ban marks the end). 20% of the
        addresses get more than maxretry - 1 lines, the rest exactly maxretry - 1. FILE gets the
        addresses that reach maxretry, one a line (SENTINEL included). Prints the seconds the
        writing took on stderr.
    flood.py poll --cli NFTJAIL --sock SOCK --pid PID --stop FILE --out FILE
        runs `nftjail status` every 20 ms until FILE exists; writes each call's latency (ms), the
        daemon's VmRSS (KiB), the CLI's exit status, the CLOCK_MONOTONIC start (s) and the
        daemon's RssAnon (KiB) a line
    flood.py check --expect FILE --elements FILE
        compares the expected addresses with the kernel's elements (rig_nft_elements lines):
        prints "banned E of E expected, M missing, X unexpected, legit banned: no"; exit 1 when
        they differ (test-flood.sh asserts it; the benchmark only prints it)

Documentation addresses only. IPv4 has 762 host addresses there, so the IPv4 share is
min(760, 90%) (192.0.2.200 is LEGIT, 203.0.113.254 SENTINEL) and the rest come from
2001:db8::/32, each in a /64 of its own (jails ban IPv6 /64s by default).
"""

import argparse
import ipaddress
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

LEGIT = "192.0.2.200"
SENTINEL = "203.0.113.254"
V4 = [n + str(h) for n in ("192.0.2.", "198.51.100.", "203.0.113.") for h in range(1, 255)]
V4 = [a for a in V4 if a not in (LEGIT, SENTINEL)]


def address(i, n4):
    if i < n4:
        return V4[i]
    k = i - n4
    return "2001:db8:%x:%x::1" % (k >> 16, k & 0xffff)


def feed(a):
    rng = random.Random(a.seed)
    m = a.maxretry
    n4 = min(len(V4), a.addresses - a.addresses // 10)
    base = a.addresses * (m - 1)
    n_banned = max(a.addresses // 5, 1)
    extra = a.lines - base
    if extra < n_banned:
        sys.exit("flood.py: --lines must be at least addresses * (maxretry - 1) + addresses / 5")
    order = list(range(a.addresses))
    rng.shuffle(order)
    banned = order[:n_banned]
    counts = [m - 1] * a.addresses
    for k, i in enumerate(banned):
        counts[i] += extra // n_banned + (1 if k < extra % n_banned else 0)
    seq = [i for i in range(a.addresses) for _ in range(counts[i])]
    rng.shuffle(seq)
    with open(a.expect, "w") as f:
        for i in banned:
            f.write(address(i, n4) + "\n")
        f.write(SENTINEL + "\n")

    if a.mode == "file":
        out = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    else:
        out = sys.stdout.fileno()
    addrs = [address(i, n4) for i in range(a.addresses)]
    legit_every = max(len(seq) // 50, 1)
    legit_fail_at = {legit_every * (k + 1) * 50 // m for k in range(m - 1)}
    t0 = time.monotonic()
    buf = []
    stamp = time.strftime("%b %e %H:%M:%S")

    def line(msg, pid):
        return ("%s bastion sshd[%d]: %s\n" % (stamp, pid, msg)) if a.mode == "file" else msg + "\n"

    for n, i in enumerate(seq):
        buf.append(line("Failed password for root from %s port %d ssh2" % (addrs[i], 1024 + n % 60000), 1000 + n % 30000))
        if n % legit_every == 0:
            buf.append(line("Accepted password for alice from %s port 50022 ssh2" % LEGIT, 999))
        if n in legit_fail_at:
            buf.append(line("Failed password for alice from %s port 50022 ssh2" % LEGIT, 999))
        if len(buf) >= 2048:
            os.write(out, "".join(buf).encode())
            buf = []
            stamp = time.strftime("%b %e %H:%M:%S")
    for k in range(m):
        buf.append(line("Failed password for root from %s port 4000 ssh2" % SENTINEL, 998))
    os.write(out, "".join(buf).encode())
    print("%.3f" % (time.monotonic() - t0), file=sys.stderr)


def raw_status(sock):
    """The daemon's own answer time: one status request on the socket, no process started."""
    t0 = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(sock)
            req = json.dumps({"version": 1, "command": "status"}).encode()
            c.sendall(struct.pack(">I", len(req)) + req)
            hdr = b""
            while len(hdr) < 4:
                b = c.recv(4 - len(hdr))
                if not b:
                    return -1.0
                hdr += b
            n = struct.unpack(">I", hdr)[0]
            while n > 0:
                b = c.recv(min(n, 65536))
                if not b:
                    return -1.0
                n -= len(b)
    except OSError:
        return -1.0
    return (time.monotonic() - t0) * 1e3


def poll(a):
    with open(a.out, "w") as f:
        while not os.path.exists(a.stop):
            raw = raw_status(a.sock)
            t0 = time.monotonic()
            r = subprocess.run([a.cli, "--socket", a.sock, "status"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            ms = (time.monotonic() - t0) * 1e3
            kib = {}
            try:
                with open("/proc/%s/status" % a.pid) as s:
                    kib = {l.split(":")[0]: int(l.split()[1]) for l in s if l.startswith(("VmRSS:", "RssAnon:"))}
            except OSError:
                pass
            f.write("%.2f %d %d %.3f %d %.2f\n" % (ms, kib.get("VmRSS", 0), r.returncode, t0, kib.get("RssAnon", 0),
                                                  raw))
            f.flush()
            time.sleep(0.02)


def net_of(s):
    return ipaddress.ip_network(s if "/" in s or ":" not in s else s + "/64", strict=False)


def check(a):
    want = {net_of(l.strip()) for l in open(a.expect) if l.strip()}
    have = set()
    for l in open(a.elements):
        f = l.split()
        if len(f) >= 4 and f[3] == "22":
            have.add(net_of(f[1]))
    legit = net_of(LEGIT) in have
    missing = want - have
    unexpected = have - want
    print("banned %d of %d expected, %d missing, %d unexpected, legitimate %s banned: %s" % (
        len(want & have), len(want), len(missing), len(unexpected), LEGIT, "YES" if legit else "no"))
    for x in sorted(missing, key=str)[:5]:
        print("  missing: %s" % x)
    for x in sorted(unexpected, key=str)[:5]:
        print("  unexpected: %s" % x)
    sys.exit(1 if missing or unexpected or legit else 0)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("feed")
    f.add_argument("--mode", choices=("file", "journal"), required=True)
    f.add_argument("--out")
    f.add_argument("--lines", type=int, required=True)
    f.add_argument("--addresses", type=int, required=True)
    f.add_argument("--maxretry", type=int, required=True)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--expect", required=True)
    p = sub.add_parser("poll")
    for k in ("cli", "sock", "pid", "stop", "out"):
        p.add_argument("--" + k, required=True)
    c = sub.add_parser("check")
    c.add_argument("--expect", required=True)
    c.add_argument("--elements", required=True)
    a = ap.parse_args()
    {"feed": feed, "poll": poll, "check": check}[a.cmd](a)


if __name__ == "__main__":
    main()
