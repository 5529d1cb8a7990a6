#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Deterministic generator of one mixed log for the many-jails benchmark (bench-jails): what a
host running every shipped jail sees, all in one stream.

About 40% auth log (gen-authlog.py: sshd, PAM, cron, Proxmox), 35% web access logs (nginx and
Apache combined format: pages, assets, a few WordPress logins, probes for well-known paths and
bad bots), 5% web server error logs (nginx and Apache authentication, nginx limit_req), 13% mail
(Postfix smtpd, Dovecot), 5% FTP (vsftpd, ProFTPD, Pure-FTPd) and 2% MySQL, WordPress-plugin and
Drupal lines. Most lines are noise; a few percent of each service's lines are failures its jail
counts. Documentation addresses only. The same arguments always give the same bytes.

    gen-mixedlog.py --lines 1000000 --seed 1 > mixed.log
"""

import argparse
import os
import random
import subprocess
import sys

NETS = ["192.0.2.", "198.51.100.", "203.0.113."]
USERS = ["root", "admin", "test", "oracle", "info", "sales", "bob", "alice", "postmaster", "www"]
PAGES = ["/", "/index.html", "/about/", "/blog/2026/11/hello-world/", "/contact", "/feed/", "/robots.txt",
         "/favicon.ico", "/css/site.css", "/js/app.js", "/img/logo.png", "/api/v1/items?page=2",
         "/search?q=nftables", "/wp-content/themes/x/style.css", "/static/fonts/inter.woff2"]
PROBES = ["/.env", "/.git/config", "/phpmyadmin/index.php", "/wp-admin/setup-config.php", "/xmlrpc.php",
          "/.aws/credentials", "/pma/", "/cgi-bin/luci/;stok=/locale"]
UAS = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
       "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
BADBOTS = ["EmailCollector/1.0", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"]


def addr(rnd):
    if rnd.random() < 0.1:
        return "2001:db8::%x" % rnd.randrange(1, 0xffff)
    return rnd.choice(NETS) + str(rnd.randrange(1, 255))


def syslog(ts, host, prog, msg):
    return "Nov 24 %s %s %s: %s" % (ts, host, prog, msg)


def web(rnd, ts):
    a, ua = addr(rnd), rnd.choice(UAS)
    x = rnd.random()
    if x < 0.02:
        req, st = "POST /wp-login.php HTTP/1.1", rnd.choice(["200", "302"])
    elif x < 0.03:
        req, st = "GET %s HTTP/1.1" % rnd.choice(PROBES), "404"
    elif x < 0.035:
        req, st, ua = "GET / HTTP/1.1", "200", rnd.choice(BADBOTS)
    else:
        req, st = "GET %s HTTP/%s" % (rnd.choice(PAGES), rnd.choice(["1.1", "2.0"])), rnd.choice(
            ["200", "200", "200", "304", "301", "404"])
    ref = rnd.choice(['"-"', '"https://www.example.org/"', '"https://www.example.org/blog/"'])
    return '%s - - [24/Nov/2026:%s +0000] "%s" %s %d %s "%s"' % (a, ts, req, st, rnd.randrange(100, 60000), ref, ua)


def weberr(rnd, ts):
    a, u = addr(rnd), rnd.choice(USERS)
    x = rnd.random()
    if x < 0.3:
        return ('2026/11/24 %s [error] 812#812: *%d user "%s": password mismatch, client: %s, server: www.example.org, '
                'request: "GET /private/ HTTP/1.1", host: "www.example.org"' % (ts, rnd.randrange(1, 99999), u, a))
    if x < 0.5:
        return ('2026/11/24 %s [error] 812#812: *%d limiting requests, excess: 10.520 by zone "login", client: %s, '
                'server: www.example.org, request: "POST /login HTTP/1.1", host: "www.example.org"'
                % (ts, rnd.randrange(1, 99999), a))
    if x < 0.7:
        return ('[Tue Nov 24 %s.123456 2026] [auth_basic:error] [pid 812] [client %s:51234] AH01617: user %s: '
                'authentication failure for "/private": Password Mismatch' % (ts, a, u))
    return ('2026/11/24 %s [error] 812#812: *%d open() "/srv/www/favicon.ico" failed (2: No such file or directory), '
            'client: %s, server: www.example.org, request: "GET /favicon.ico HTTP/1.1"' % (ts, rnd.randrange(1, 99999), a))


def mail(rnd, ts):
    a, u = addr(rnd), rnd.choice(USERS)
    x = rnd.random()
    pid = rnd.randrange(1000, 30000)
    if x < 0.25:
        return syslog(ts, "mx", "postfix/smtpd[%d]" % pid, "connect from unknown[%s]" % a)
    if x < 0.5:
        return syslog(ts, "mx", "postfix/smtpd[%d]" % pid,
                      "disconnect from unknown[%s] ehlo=1 auth=0/1 quit=1 commands=2/3" % a)
    if x < 0.58:
        return syslog(ts, "mx", "postfix/smtpd[%d]" % pid,
                      "warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6" % a)
    if x < 0.62:
        return syslog(ts, "mx", "postfix/smtpd[%d]" % pid,
                      "NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 <spam@example.net>: Relay access denied; "
                      "from=<x@example.net> to=<spam@example.net> proto=ESMTP helo=<x>" % a)
    if x < 0.7:
        return syslog(ts, "mx", "postfix/qmgr[900]", "4F1A2B3C4D: from=<%s@example.org>, size=%d, nrcpt=1 (queue active)"
                      % (u, rnd.randrange(1000, 90000)))
    if x < 0.9:
        return syslog(ts, "mx", "dovecot[812]", "imap-login: Login: user=<%s@example.org>, method=PLAIN, rip=%s, "
                      "lip=192.0.2.1, mpid=%d, TLS, session=<Xy12abCD>" % (u, a, pid))
    if x < 0.96:
        return syslog(ts, "mx", "dovecot[812]", "auth: passwd-file(%s,%s,<Xy12abCD>): Password mismatch" % (u, a))
    return syslog(ts, "mx", "dovecot[812]", "imap(%s)<%d><Xy12abCD>: Disconnected: Logged out in=50 out=1203" % (u, pid))


def ftp(rnd, ts):
    a, u = addr(rnd), rnd.choice(USERS)
    x = rnd.random()
    if x < 0.2:
        return 'Tue Nov 24 %s 2026 [pid 812] [%s] FAIL LOGIN: Client "%s"' % (ts, u, a)
    if x < 0.5:
        return 'Tue Nov 24 %s 2026 [pid 812] [%s] OK LOGIN: Client "%s"' % (ts, u, a)
    if x < 0.6:
        return ("2026-11-24 %s,123 ftp proftpd[812] ftp.example.org (%s[%s]): USER %s (Login failed): Incorrect password"
                % (ts, a, a, u))
    if x < 0.8:
        return "2026-11-24 %s,123 ftp proftpd[812] ftp.example.org (%s[%s]): FTP session opened." % (ts, a, a)
    if x < 0.9:
        return syslog(ts, "ftp", "pure-ftpd[812]", "(?@%s) [WARNING] Authentication failed for user [%s]" % (a, u))
    return syslog(ts, "ftp", "pure-ftpd[812]", "(?@%s) [INFO] New connection from %s" % (a, a))


def other(rnd, ts):
    a, u = addr(rnd), rnd.choice(USERS)
    x = rnd.random()
    if x < 0.4:
        return "2026-11-24 %s %d [Warning] Access denied for user '%s'@'%s' (using password: YES)" % (
            ts, rnd.randrange(1, 999), u, a)
    if x < 0.6:
        return "2026-11-24 %s %d [Note] Aborted connection %d to db: 'app' user: 'app' host: 'localhost'" % (
            ts, rnd.randrange(1, 999), rnd.randrange(1, 999))
    if x < 0.8:
        return syslog(ts, "web", "wordpress(www.example.org)[812]", "Authentication failure for %s from %s" % (u, a))
    return syslog(ts, "web", "drupal", "http://www.example.org|1732449901|user|%s|http://www.example.org/user/login|"
                  "http://www.example.org/user/login|0||Login attempt failed for %s." % (a, u))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    n_auth = args.lines * 40 // 100
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-authlog.py")
    auth = subprocess.run([sys.executable, gen, "--lines", str(n_auth), "--addresses", "5000", "--seed",
                           str(args.seed)], check=True, capture_output=True, text=True).stdout.splitlines()
    kinds = [(0.35, web), (0.05, weberr), (0.13, mail), (0.05, ftp), (0.02, other)]
    out = sys.stdout
    ai = 0
    for i in range(args.lines):
        ts = "%02d:%02d:%02d" % (13 + i // 3600000 % 10, i // 60000 % 60, i // 1000 % 60)
        left = args.lines - i
        if ai < len(auth) and rnd.random() < (len(auth) - ai) / left:
            out.write(auth[ai] + "\n")
            ai += 1
            continue
        x = rnd.random() * 0.6
        for w, fn in kinds:
            if x < w:
                out.write(fn(rnd, ts) + "\n")
                break
            x -= w
        else:
            out.write(web(rnd, ts) + "\n")


if __name__ == "__main__":
    main()
