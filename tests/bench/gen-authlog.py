#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Deterministic generator of a syslog-style auth log for benchmarks and soak tests.

About 60% noise (accepted keys, PAM sessions, cron, logind, systemd), the rest OpenSSH
failures of every kind the sshd filter knows (from sshd and sshd-session), a few pvedaemon
login failures, and 10% of the attackers on IPv6. Documentation addresses only:
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.

    gen-authlog.py --lines 1000000 --addresses 5000 --seed 1 > auth.log
"""

import argparse
import random
import sys

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
USERS = ["root", "admin", "test", "user", "oracle", "postgres", "ubuntu", "pi", "git", "ftpuser",
         "guest", "deploy", "jenkins", "nagios", "support", "www-data", "mysql", "ubnt", ""]
LOCAL_USERS = ["alice", "bob", "carol", "backup"]
V4_NETS = ["192.0.2.", "198.51.100.", "203.0.113."]


def attacker_pool(rng, k):
    pool = []
    for i in range(k):
        if rng.random() < 0.10:
            pool.append("2001:db8:%x:%x::%x" % (rng.randrange(0x10000), rng.randrange(0x10000),
                                                rng.randrange(1, 0x10000)))
        else:
            pool.append(V4_NETS[i % 3] + str(rng.randrange(1, 255)))
    return pool


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--addresses", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--host", default="bastion")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    attackers = attacker_pool(rng, max(1, a.addresses))
    friends = ["192.0.2.%d" % i for i in range(200, 210)] + ["2001:db8:ffff::%d" % i for i in range(1, 5)]
    host = a.host
    t = 1795525501  # 2026-11-24 13:05:01 UTC, printed as UTC
    out = sys.stdout
    buf = []

    def ssh_ident():
        return ("sshd-session[%d]" if rng.random() < 0.5 else "sshd[%d]") % rng.randrange(1000, 99999)

    def port():
        return rng.randrange(1024, 65536)

    for n in range(a.lines):
        t += rng.random() < 0.3
        s = t % 86400
        d = 24 + t // 86400 - 1795478400 // 86400
        stamp = "Nov %2d %02d:%02d:%02d" % (d if d <= 30 else d - 30, s // 3600, s // 60 % 60, s % 60)
        r = rng.random()
        if r < 0.60:
            k = rng.randrange(10)
            u = rng.choice(LOCAL_USERS)
            f = rng.choice(friends)
            if k == 0:
                m = "%s: Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s" % (
                    ssh_ident(), u, f, port(), "".join(rng.choice("abcdefABCDEF0123456789") for _ in range(43)))
            elif k == 1:
                m = "%s: pam_unix(sshd:session): session opened for user %s(uid=1000) by %s(uid=0)" % (ssh_ident(), u, u)
            elif k == 2:
                m = "%s: pam_unix(sshd:session): session closed for user %s" % (ssh_ident(), u)
            elif k == 3:
                m = "CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)" % rng.randrange(1000, 99999)
            elif k == 4:
                m = "CRON[%d]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)" % rng.randrange(1000, 99999)
            elif k == 5:
                m = "systemd-logind[612]: New session %d of user %s." % (rng.randrange(1, 9999), u)
            elif k == 6:
                m = "systemd-logind[612]: Session %d logged out. Waiting for processes to exit." % rng.randrange(1, 9999)
            elif k == 7:
                m = "%s: Received disconnect from %s port %d:11: disconnected by user" % (ssh_ident(), f, port())
            elif k == 8:
                m = "%s: Disconnected from user %s %s port %d" % (ssh_ident(), u, f, port())
            else:
                m = "systemd[1]: Started session-%d.scope - Session %d of User %s." % (n % 9999, n % 9999, u)
        elif r < 0.62:
            ip = rng.choice(attackers)
            ip = ip if ":" in ip else "::ffff:" + ip
            m = "pvedaemon[%d]: authentication failure; rhost=%s user=root@pam msg=Authentication failure" % (
                rng.randrange(1000, 9999), ip)
        else:
            ip = rng.choice(attackers)
            u = rng.choice(USERS)
            p = port()
            k = rng.randrange(12)
            i = ssh_ident()
            if k == 0:
                m = "%s: Failed password for root from %s port %d ssh2" % (i, ip, p)
            elif k == 1:
                m = "%s: Failed password for invalid user %s from %s port %d ssh2" % (i, u, ip, p)
            elif k == 2:
                m = "%s: Invalid user %s from %s port %d" % (i, u, ip, p)
            elif k == 3:
                m = "%s: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s" % (i, ip, u)
            elif k == 4:
                m = "%s: Connection closed by invalid user %s %s port %d [preauth]" % (i, u, ip, p)
            elif k == 5:
                m = "%s: Disconnected from authenticating user root %s port %d [preauth]" % (i, ip, p)
            elif k == 6:
                m = "%s: Received disconnect from %s port %d:11: Bye Bye [preauth]" % (i, ip, p)
            elif k == 7:
                m = "%s: error: maximum authentication attempts exceeded for invalid user %s from %s port %d ssh2 [preauth]" % (i, u, ip, p)
            elif k == 8:
                m = "%s: Connection closed by %s port %d [preauth]" % (i, ip, p)
            elif k == 9:
                m = "%s: banner exchange: Connection from %s port %d: invalid format" % (i, ip, p)
            elif k == 10:
                m = "%s: Unable to negotiate with %s port %d: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]" % (i, ip, p)
            else:
                m = "%s: Did not receive identification string from %s port %d" % (i, ip, p)
        buf.append("%s %s %s\n" % (stamp, host, m))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
