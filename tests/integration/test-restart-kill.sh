#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SIGKILL in the middle of a burst, for a log file and for the journal: after the restart, the
# lines written while the daemon was down are read, none is lost, and none is counted twice
# (a batch's failures are committed with its position). Failure events (MESSAGE_ID ...6b04) of
# both runs are counted; the bursts stay under the rate limit of 50 events a second.
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

[proxmox]
enabled = true
maxretry = 255
findtime = 1h
CONF

line() {
	printf '%s pve pvedaemon[1234]: authentication failure; rhost=%s user=u%s@pam msg=Authentication failure\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2"
}
jlog() {
	rig_log pvedaemon.service pvedaemon "authentication failure; rhost=$1 user=u$2@pam msg=Authentication failure"
}

: >"$LOG"
rig_start_daemon --log-target journal

# --- the file
A=198.51.100.11
for i in $(seq 1 20); do line $A "$i"; done >>"$LOG"
rig_wait_until 10 rig_file_caught_up pve "$LOG"
# killed while it reads a burst of 20 lines
for i in $(seq 21 40); do line $A "$i" >>"$LOG"; done &
writer=$!
rig_kill_daemon
wait $writer
# written while it is down
for i in $(seq 41 60); do line $A "$i"; done >>"$LOG"
rig_start_daemon --log-target journal
rig_wait_until 10 rig_file_caught_up pve "$LOG"
rig_wait_until 10 rig_failures_ge pve $A 60
n=$(rig_failures pve $A)
rig_note "file: $n failure events for 60 lines"
[ "$n" -le 80 ] || fail "file: $n failures counted for 60 lines: more than one batch counted twice"
# and again, killed when idle: exactly once
rig_kill_daemon
for i in $(seq 61 70); do line $A "$i"; done >>"$LOG"
rig_start_daemon --log-target journal
rig_wait_until 10 rig_file_caught_up pve "$LOG"
rig_wait_until 10 rig_failures_ge pve $A "$((n + 10))"
[ "$(rig_failures pve $A)" = "$((n + 10))" ] || fail "file: $(rig_failures pve $A) failures, want $((n + 10))"

# --- the journal
B=198.51.100.12
for i in 1 2 3 4 5; do jlog $B "$i"; done
rig_wait_until 10 rig_failures_ge proxmox $B 5
rig_kill_daemon
for i in 6 7 8 9 10; do jlog $B "$i"; done
rig_start_daemon --log-target journal
rig_wait_until 10 rig_failures_ge proxmox $B 10
[ "$(rig_failures proxmox $B)" = 10 ] || fail "journal: $(rig_failures proxmox $B) failures, want 10"
[ -n "$(sqlite3 "$RIG_STATE/nftjail.db" "select data from positions where jail = 'proxmox' and source = 'journal'")" ] ||
	fail "no saved journal cursor"
# killed in the middle of a burst
for i in $(seq 11 20); do jlog $B "$i"; done &
writer=$!
rig_wait_until 10 rig_failures_ge proxmox $B 12
rig_kill_daemon
wait $writer
for i in $(seq 21 25); do jlog $B "$i"; done
rig_start_daemon --log-target journal
rig_wait_until 15 rig_failures_ge proxmox $B 25
n=$(rig_failures proxmox $B)
rig_note "journal: $n failure events for 25 entries"
[ "$n" -le 35 ] || fail "journal: $n failures counted for 25 entries: more than one batch counted twice"
rig_stop_daemon
echo "ok"
