#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Latency from a failure line written to a log file to its ban being in the kernel, over 1,000
# bans (maxretry 1, one new address each, one at a time), in the integration rig (private mount
# and network namespaces, tmpfs /var/log). The kernel's own notification is the clock's end:
# `nft monitor` reports each new element. Prints median, p90, p99 and max; never fails on time.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

N=${BENCH_BANS:-1000}
LOG=/var/log/auth.log
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = false

[bench]
enabled = true
port = 22
filter = bench
logpath = $LOG
maxretry = 1
findtime = 1h
bantime = 1h

[bench2]
enabled = true
port = 2222
filter = bench2
logpath = $LOG
maxretry = 1
findtime = 1h
bantime = 1h
CONF
cat >"$RIG_CONF/filter.d/bench.conf" <<'CONF'
[Definition]
failregex = sshd\[\d+\]: Failed password for root from <HOST> port \d+ ssh2$
CONF
cat >"$RIG_CONF/filter.d/bench2.conf" <<'CONF'
[Definition]
failregex = sshd\[\d+\]: Failed password for admin from <HOST> port \d+ ssh2$
CONF
: >"$LOG"
rig_start_daemon --log-target journal

"$RIG_PY" - "$LOG" "$N" <<'PY' || { rig_nft_elements v6_port | head -3; journalctl -q --no-pager -o cat | grep -v "found 198" | tail -5; tail -2 $LOG; exit 1; }
import os, re, select, subprocess, sys, time

log, n = sys.argv[1], int(sys.argv[2])
mon = subprocess.Popen(["nft", "monitor", "new", "elements"],
                       stdout=subprocess.PIPE, bufsize=0)
time.sleep(0.3)  # let the monitor subscribe before the first line
fd = os.open(log, os.O_WRONLY | os.O_APPEND)
buf = b""
lat = []
for i in range(n):
    # IPv4 only: nft monitor prints nothing for the elements of the IPv6 sets (interval sets)
    k = i % 500
    addr = ("198.51.100.%d" if k < 250 else "203.0.113.%d") % (k % 250 + 1)
    user = b"root" if i < 500 else b"admin"
    port = b" . 22 " if i < 500 else b" . 2222 "
    line = time.strftime("%b %e %H:%M:%S").encode() + b" host sshd[%d]: Failed password for %s from %s port 22 ssh2\n" % (
        1000 + i, user, addr.encode())
    t0 = time.monotonic()
    os.write(fd, line)
    want = re.compile(re.escape(addr.encode()) + rb" \. tcp" + re.escape(port))
    while True:
        r, _, _ = select.select([mon.stdout], [], [], 5)
        if not r:
            sys.exit("no ban for %s within 5 s; monitor said: %r" % (addr, buf[-300:]))
        chunk = os.read(mon.stdout.fileno(), 65536)
        if not chunk:
            sys.exit("nft monitor exited")
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        last = lines[-1:] or [b""]
        if any(want.search(l) for l in lines):
            break
    lat.append(time.monotonic() - t0)
mon.terminate()
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3
print("write -> ban in the kernel, %d bans, inotify file source: median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (len(lat), q(0.5), q(0.9), q(0.99), lat[-1] * 1e3))
PY
rig_stop_daemon
