#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Deterministic generator of a syslog-style auth log for benchmarks and soak tests.

What a busy bastion host logs: about 60% noise (accepted keys and passwords, PAM sessions, cron,
systemd-logind, systemd, clean disconnects, successful Proxmox logins and tasks), about 2%
Proxmox pvedaemon login failures, and the rest OpenSSH failures of every kind the sshd filters
know (failed passwords and keyboard-interactive, invalid users, PAM, disallowed users, refused
root logins, maximum attempts, preauth closes and disconnects, banner and protocol errors, key
exchange failures, timeouts, failed public keys), half of them from "sshd" and half from
"sshd-session" (OpenSSH 9.8 and later).

The failures come from exactly --addresses distinct attacker addresses (each appears at least
once when the log has enough failure lines), 10% of them IPv6. Documentation addresses only:
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32. Those IPv4 networks hold 752
host addresses besides the friends', so with more than 835 attackers the IPv4 share stays at 752
and the rest is IPv6.
The friendly hosts (noise) use 192.0.2.200-209 and 2001:db8:ffff::/48, never an attacker's.

The same arguments always give the same bytes.

    gen-authlog.py --lines 1000000 --addresses 5000 --seed 1 > auth.log
"""

import argparse
import random
import sys

USERS = ["root", "admin", "test", "user", "oracle", "postgres", "ubuntu", "pi", "git", "ftpuser",
         "guest", "deploy", "jenkins", "nagios", "support", "www-data", "mysql", "ubnt", ""]
LOCAL_USERS = ["alice", "bob", "carol", "backup"]
V4_NETS = ["192.0.2.", "198.51.100.", "203.0.113."]
FRIENDS_V4 = ["192.0.2.%d" % i for i in range(200, 210)]
FRIENDS_V6 = ["2001:db8:ffff::%d" % i for i in range(1, 5)]
# every IPv4 documentation host address but the friends'
V4_HOSTS = [n + str(h) for n in V4_NETS for h in range(1, 255) if n + str(h) not in FRIENDS_V4]
KEX = ["key exchange method found. Their offer: diffie-hellman-group1-sha1,diffie-hellman-group14-sha1",
       "host key type found. Their offer: ssh-rsa,ssh-dss",
       "cipher found. Their offer: aes128-cbc,3des-cbc"]


def attacker_pool(rng, k):
    """k distinct addresses, 10% IPv6 (more when IPv4 runs out), in a shuffled order."""
    n6 = max(k // 10, k - len(V4_HOSTS))
    v4 = rng.sample(V4_HOSTS, k - n6)
    v6 = set()
    while len(v6) < n6:
        v6.add("2001:db8:%x:%x::%x" % (rng.randrange(0xffff), rng.randrange(0x10000), rng.randrange(1, 0x10000)))
    pool = v4 + sorted(v6)
    rng.shuffle(pool)
    return pool


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--addresses", type=int, default=1000, help="distinct attacker addresses")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--host", default="bastion")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    attackers = attacker_pool(rng, max(1, a.addresses))
    friends = FRIENDS_V4 + FRIENDS_V6
    host = a.host
    t = 1795525501  # 2026-11-24 13:05:01 UTC, printed as UTC
    out = sys.stdout
    buf = []
    n_fail = 0

    def attacker():
        # the first failures walk the pool, so that every address appears
        nonlocal n_fail
        n_fail += 1
        return attackers[n_fail - 1] if n_fail <= len(attackers) else rng.choice(attackers)

    # sshd forks a process per connection: PIDs grow (wrapping at Linux's pid_max), so two
    # connections do not share one, which fail2ban's multi-line filters would take as one session
    pid = 1000

    def ssh_ident():
        nonlocal pid
        pid = 1000 + (pid - 1000 + rng.randrange(1, 50)) % (4194304 - 1000)
        return ("sshd-session[%d]" if rng.random() < 0.5 else "sshd[%d]") % pid

    def port():
        return rng.randrange(1024, 65536)

    def key():
        return "".join(rng.choice("abcdefABCDEF0123456789+/") for _ in range(43))

    for n in range(a.lines):
        t += rng.random() < 0.3
        s = t % 86400
        d = 24 + t // 86400 - 1795478400 // 86400
        stamp = "Nov %2d %02d:%02d:%02d" % (d if d <= 30 else d - 30, s // 3600, s // 60 % 60, s % 60)
        r = rng.random()
        if r < 0.60:
            k = rng.randrange(14)
            u = rng.choice(LOCAL_USERS)
            f = rng.choice(friends)
            if k == 0:
                m = "%s: Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s" % (
                    ssh_ident(), u, f, port(), key())
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
            elif k == 9:
                m = "systemd[1]: Started session-%d.scope - Session %d of User %s." % (n % 9999, n % 9999, u)
            elif k == 10:
                m = "%s: Accepted password for %s from %s port %d ssh2" % (ssh_ident(), u, f, port())
            elif k == 11:
                m = "CRON[%d]: pam_unix(cron:session): session closed for user root" % rng.randrange(1000, 99999)
            elif k == 12:
                m = "pvedaemon[%d]: <root@pam> successful auth for user '%s@pam'" % (rng.randrange(1000, 9999), u)
            else:
                m = "pvedaemon[%d]: <root@pam> starting task UPID:pve1:%08X:%08X:%08X:vncproxy:%d:root@pam:" % (
                    rng.randrange(1000, 9999), rng.randrange(1 << 32), rng.randrange(1 << 32), t, rng.randrange(100, 200))
        elif r < 0.62:
            ip = attacker()
            ip = ip if ":" in ip else "::ffff:" + ip
            m = "pvedaemon[%d]: authentication failure; rhost=%s user=%s@pam msg=Authentication failure" % (
                rng.randrange(1000, 9999), ip, rng.choice(["root", "admin", "test"]))
        else:
            ip = attacker()
            u = rng.choice(USERS)
            p = port()
            k = rng.randrange(24)
            i = ssh_ident()
            if k <= 2:
                m = "%s: Failed password for root from %s port %d ssh2" % (i, ip, p)
            elif k <= 4:
                m = "%s: Failed password for invalid user %s from %s port %d ssh2" % (i, u, ip, p)
            elif k <= 6:
                m = "%s: Invalid user %s from %s port %d" % (i, u, ip, p)
            elif k == 7:
                m = "%s: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s" % (i, ip, u)
            elif k == 8:
                m = "%s: Connection closed by invalid user %s %s port %d [preauth]" % (i, u, ip, p)
            elif k == 9:
                m = "%s: Disconnected from authenticating user root %s port %d [preauth]" % (i, ip, p)
            elif k == 10:
                m = "%s: Received disconnect from %s port %d:11: Bye Bye [preauth]" % (i, ip, p)
            elif k == 11:
                m = "%s: error: maximum authentication attempts exceeded for invalid user %s from %s port %d ssh2 [preauth]" % (i, u, ip, p)
            elif k == 12:
                m = "%s: Connection closed by %s port %d [preauth]" % (i, ip, p)
            elif k == 13:
                m = "%s: banner exchange: Connection from %s port %d: invalid format" % (i, ip, p)
            elif k == 14:
                m = "%s: Unable to negotiate with %s port %d: no matching %s [preauth]" % (i, ip, p, rng.choice(KEX))
            elif k == 15:
                m = "%s: Did not receive identification string from %s port %d" % (i, ip, p)
            elif k == 16:
                m = "%s: Failed keyboard-interactive/pam for invalid user %s from %s port %d ssh2" % (i, u, ip, p)
            elif k == 17:
                m = "%s: User root from %s not allowed because not listed in AllowUsers" % (i, ip)
            elif k == 18:
                m = "%s: Received disconnect from %s port %d:14: No supported authentication methods available [preauth]" % (i, ip, p)
            elif k == 19:
                m = "%s: Connection reset by %s port %d [preauth]" % (i, ip, p)
            elif k == 20:
                m = "%s: Bad protocol version identification 'GET / HTTP/1.1' from %s port %d" % (i, ip, p)
            elif k == 21:
                m = "%s: ssh_dispatch_run_fatal: Connection from %s port %d: message authentication code incorrect [preauth]" % (i, ip, p)
            elif k == 22:
                m = "%s: Timeout before authentication for %s port %d" % (i, ip, p)
            else:
                m = "%s: Failed publickey for invalid user %s from %s port %d ssh2: RSA SHA256:%s" % (i, u, ip, p, key())
        buf.append("%s %s %s\n" % (stamp, host, m))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
