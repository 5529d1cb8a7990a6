#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Log rotation in the middle of a burst, by rename + create and by copytruncate: every failure
# line is counted once, none lost, none twice. The count is read from the kernel: maxretry is
# 121, a burst has 120 lines, so the address must not be banned after the burst (no line
# counted twice) and must be banned by one more line (none lost). Exact, and independent of
# the rate limit of failure events.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

LOG=/var/log/daemon.log
rig_conf_dir
cat >"$RIG_CONF/filter.d/pve.conf" <<'CONF'
[Definition]
failregex = pvedaemon\[.*authentication failure; rhost=<HOST> user=.* msg=.*
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = false

[pve]
enabled = true
port = 8006
filter = pve
logpath = $LOG
maxretry = 121
findtime = 1h
CONF

line() {
	printf '%s pve pvedaemon[1234]: authentication failure; rhost=%s user=u%s@pam msg=Authentication failure\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2"
}
# after a burst of 120 failures of $1: not banned yet, banned by one more
check_count() {
	rig_wait_until 10 rig_file_caught_up pve "$LOG"
	! rig_nft_has "^$1 " v4_port || fail "$2: $1 banned after 120 lines: a line was counted twice"
	line "$1" last >>"$LOG"
	rig_poll 10 rig_nft_has "^$1 tcp 8006 " v4_port || fail "$2: $1 not banned after 121 lines: a line was lost"
}

: >"$LOG"
rig_start_daemon --log-target journal

# 1. rename + create. The writer keeps its fd on the old file for a while (as rsyslog does
# until its HUP), then reopens the path.
A=198.51.100.1
exec 3>>"$LOG"
for i in $(seq 1 60); do line $A "$i" >&3; done
mv "$LOG" "$LOG.1"
for i in $(seq 61 80); do line $A "$i" >&3; done
: >"$LOG"
exec 3>>"$LOG"
for i in $(seq 81 120); do line $A "$i" >&3; done
exec 3>&-
check_count $A "rename rotation"
rig_wait_until 5 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b20

# 2. copytruncate: logrotate copies the file and truncates it while the writer goes on
# (O_APPEND). Lines written between the copy and the truncation are lost to every reader;
# here the daemon has read the file when it is copied.
B=198.51.100.2
for i in $(seq 1 60); do line $B "$i" >>"$LOG"; done
rig_wait_until 10 rig_file_caught_up pve "$LOG"
cp "$LOG" "$LOG.2"
truncate -s 0 "$LOG"
for i in $(seq 61 120); do line $B "$i" >>"$LOG"; done
check_count $B copytruncate

# 3. a file of the logpath glob created after the start is read from its first line
C=198.51.100.3
rig_stop_daemon
sed -i "s|^logpath = .*|logpath = $LOG /var/log/pve/*.log|" "$RIG_CONF/jail.d/test.local"
rig_start_daemon --log-target journal
mkdir /var/log/pve
line $C 1 >/var/log/pve/new.log
line $C 2 >>/var/log/pve/new.log
rig_wait_until 10 rig_failures_ge pve $C 2

# 4. backend = polling (no inotify: a stat a second) reads and follows a rename rotation too
D=198.51.100.4
rig_stop_daemon
sed -i "s|^logpath = .*|logpath = $LOG\nbackend = polling|" "$RIG_CONF/jail.d/test.local"
rig_start_daemon --log-target journal
grep -q "pve: watching $LOG (polling)" <(journalctl -q --no-pager -o cat) || fail "not polling"
line $D 1 >>"$LOG"
rig_wait_until 10 rig_failures_ge pve $D 1
mv "$LOG" "$LOG.3"
line $D 2 >>"$LOG.3"
line $D 3 >"$LOG"
rig_wait_until 10 rig_failures_ge pve $D 3
[ "$(rig_failures pve $D)" = 3 ] || fail "polling: $(rig_failures pve $D) failures, want 3"
rig_stop_daemon
echo "ok"
