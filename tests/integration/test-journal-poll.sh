#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The journal source reads on a timer while entries flow (journald signals new entries only
# 250-500 ms after writing them) as well as on journald's notification: every entry must be
# read exactly once whichever comes first, across a journal rotation made while the timer runs,
# and after the timer stopped (~25 s of quiet) the notification alone must still bring entries.
# No timing is asserted: only what was read and banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 5
findtime = 1h
bantime = 1h
CONF
rig_start_daemon --log-target journal
SSH_CG=$RIG_CG/system.slice/ssh.service
mkdir -p "$SSH_CG"

# send ADDR... : one "Failed password" from sshd (ssh.service, _COMM=sshd) per ADDR, 1 ms
# apart, through the native journal socket; "rotate" as an ADDR rotates the journal there
send() {
	"$RIG_PY" - "$SSH_CG" "$@" <<'PY'
import os, socket, subprocess, sys, time
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
with open("/proc/self/comm", "w") as f:
    f.write("sshd")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
for i, a in enumerate(sys.argv[2:]):
    if a == "rotate":
        subprocess.run(["journalctl", "--rotate"], check=True, stdout=subprocess.DEVNULL)
        continue
    s.send(b"MESSAGE=Failed password for root from %s port %d ssh2\nSYSLOG_IDENTIFIER=sshd\nSYSLOG_PID=%d\n"
           % (a.encode(), 40000 + i, 3000 + i))
    time.sleep(0.001)
PY
}
banned() { rig_nft_has "^$1 tcp 22 " "${2:-v4_port}"; }
# exactly N failure events for ADDR, the last one N/5: each entry read once
read_once() {
	local n
	n=$(rig_failures sshd "$1")
	[ "$n" = "$2" ] || fail "$1: $n failure events, want $2 (an entry read twice or missed)"
	[ "$(rig_failures_last sshd "$1")" = "$2" ] || fail "$1: last count $(rig_failures_last sshd "$1"), want $2"
}

# 1. a first entry makes the source poll; then two attackers interleaved, 1 ms apart
send 203.0.113.9
send 192.0.2.10 2001:db8::10 192.0.2.10 2001:db8::10 192.0.2.10 2001:db8::10 192.0.2.10 2001:db8::10 \
	192.0.2.10 2001:db8::10
rig_wait_until 10 banned 192.0.2.10
rig_wait_until 10 rig_nft_has "^2001:db8::/64 tcp 22 " v6_port
read_once 192.0.2.10 5
read_once 2001:db8::10 5
read_once 203.0.113.9 1

# 2. the journal rotated between an attacker's failures while the source polls: the new file is
#    found through the notification, nothing read twice or lost
send 192.0.2.11 192.0.2.11 192.0.2.11 rotate 192.0.2.11 192.0.2.11
rig_wait_until 10 banned 192.0.2.11
read_once 192.0.2.11 5

# 3. quiet until the timer stops (its interval reaches 250 ms 25 s after the last entry): the
#    notification alone brings the next ones
sleep 27
send 192.0.2.12 192.0.2.12 192.0.2.12 192.0.2.12 192.0.2.12
rig_wait_until 10 banned 192.0.2.12
read_once 192.0.2.12 5
# and the source polls again afterwards
send 198.51.100.13 198.51.100.13 198.51.100.13 198.51.100.13 198.51.100.13
rig_wait_until 10 banned 198.51.100.13
read_once 198.51.100.13 5

rig_stop_daemon
echo "ok: journal entries read once each, polled or notified, across a rotation"
