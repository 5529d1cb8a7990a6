#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Ban latency while the jail's mail action hangs: /usr/sbin/sendmail is replaced (a bind mount in
# the rig's private mount namespace) by a script that sleeps, so both action workers are stuck
# from the first ban on and the queue fills. From a failure line written to the log file to its
# ban in the kernel (nft monitor), BENCH_BANS bans (default 300) one at a time, maxretry 1, each
# with %(action_mw)s; then the same without a mail action. Prints both; never fails on time.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

N=${BENCH_BANS:-300}
LOG=/var/log/syslog
SM=$RIG_TMP/bin/sendmail
printf '#!/bin/sh\necho started >>%s/hung\nexec sleep 1000\n' "$RIG_TMP" >"$SM"
chmod 0755 "$SM"
mount --bind "$SM" /usr/sbin/sendmail || fail "cannot bind-mount the sleeping sendmail"

run() { # LABEL ACTION
	rig_conf_dir
	cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = false

[drupal-auth]
enabled = true
logpath = $LOG
maxretry = 1
findtime = 1h
bantime = 1h
action = $2
destemail = admin@example.org
mailrate = 1000
CONF
	: >"$LOG"
	rig_nft_load 2>/dev/null || true
	rig_start_daemon --log-target journal
	"$RIG_PY" - "$LOG" "$N" "$1" <<'PY'
import os, re, select, subprocess, sys, time

log, n, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mon = subprocess.Popen(["nft", "monitor", "new", "elements"], stdout=subprocess.PIPE, bufsize=0)
time.sleep(0.3)  # let the monitor subscribe before the first line
fd = os.open(log, os.O_WRONLY | os.O_APPEND)
buf = b""
lat = []
for i in range(n):
    addr = "198.51.100.%d" % (i % 250 + 1) if i < 250 else "203.0.113.%d" % (i % 250 + 1)
    line = (time.strftime("%b %e %H:%M:%S") + " web drupal: https://www.example.org|1|user|%s|/user/login||0||"
            "Login attempt failed for admin.\n" % addr).encode()
    t0 = time.monotonic()
    os.write(fd, line)
    want = re.compile(re.escape(addr.encode()) + rb" \. tcp \. (80|443) ")
    while True:
        r, _, _ = select.select([mon.stdout], [], [], 5)
        if not r:
            sys.exit("no ban for %s within 5 s" % addr)
        chunk = os.read(mon.stdout.fileno(), 65536)
        if not chunk:
            sys.exit("nft monitor exited")
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        if any(want.search(l) for l in lines):
            break
    lat.append(time.monotonic() - t0)
mon.terminate()
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3
print("%s: write -> ban in the kernel, %d bans: median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (label, len(lat), q(0.5), q(0.9), q(0.99), lat[-1] * 1e3))
PY
	rig_stop_daemon
	rig_nft "delete table inet nftjail"
	rm -f "$RIG_STATE"/nftjail.db*
}
run "mail action, sendmail sleeping" '%(action_mw)s'
echo "children started (sleeping sendmail; 2 workers): $(grep -c started "$RIG_TMP/hung" 2>/dev/null || echo 0)"
[ -n "${BENCH_DEBUG:-}" ] && journalctl -q --no-pager -o cat | grep -E "sendmail|digest" | sort | uniq -c | head -20
run "no mail action" '%(action_)s'
