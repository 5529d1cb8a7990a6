#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Log rotation in the middle of a burst, by rename + create and by copytruncate: every failure
# line is counted once, none lost, none twice. maxretry is high so nothing is banned; the
# tracker's running count (NFTJAIL_FAILURES of a last line written a second later) is the
# number of lines read, exact whatever the rate limit of failure events.
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
maxretry = 255
findtime = 1h
CONF

line() {
	printf '%s pve pvedaemon[1234]: authentication failure; rhost=%s user=u%s@pam msg=Authentication failure\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2"
}
# a second boundary, so that the next failure event is not rate-limited
second_changed() { [ "$(date +%s)" != "$1" ]; }
next_second() {
	rig_wait_until 3 second_changed "$(date +%s)"
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
rig_wait_until 10 rig_file_caught_up pve "$LOG"
next_second
line $A sentinel >>"$LOG"
rig_wait_until 10 test "$(rig_failures_last pve $A)" != 0
rig_wait_until 5 test "$(rig_failures_last pve $A)" -ge 121
[ "$(rig_failures_last pve $A)" = 121 ] || fail "rename rotation: $(rig_failures_last pve $A) failures counted, want 121"
rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b20 NFTJAIL_SOURCE=$LOG || fail "no source-rotated event"

# 2. copytruncate: logrotate copies the file and truncates it while the writer goes on
# (O_APPEND). Lines written between the copy and the truncation are lost to every reader;
# here the daemon has read the file when it is copied.
B=198.51.100.2
next_second
for i in $(seq 1 40); do line $B "$i" >>"$LOG"; done
rig_wait_until 10 rig_file_caught_up pve "$LOG"
cp "$LOG" "$LOG.2"
truncate -s 0 "$LOG"
for i in $(seq 41 80); do line $B "$i" >>"$LOG"; done
rig_wait_until 10 rig_file_caught_up pve "$LOG"
next_second
line $B sentinel >>"$LOG"
rig_wait_until 10 test "$(rig_failures_last pve $B)" -ge 81
[ "$(rig_failures_last pve $B)" = 81 ] || fail "copytruncate: $(rig_failures_last pve $B) failures counted, want 81"

# 3. a file of the logpath glob created after the start is read from its first line
C=198.51.100.3
rig_stop_daemon
sed -i "s|^logpath = .*|logpath = $LOG /var/log/pve/*.log|" "$RIG_CONF/jail.d/test.local"
rig_start_daemon --log-target journal
mkdir /var/log/pve
line $C 1 >/var/log/pve/new.log
line $C 2 >>/var/log/pve/new.log
rig_wait_until 10 test "$(rig_failures_last pve $C)" = 2
rig_stop_daemon
echo "ok"
