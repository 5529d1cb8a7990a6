#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Failures from senders that exit at once (a short sshd-session, any burst that makes journald
# fall behind) are all counted. journald takes _UID, _GID and _PID from the kernel with the
# datagram, but reads _COMM and the unit from /proc/PID when it handles the entry: for a sender
# that has exited by then they are missing, and a match on them drops the entry. The shipped
# matches pair the identifier the daemon writes (SYSLOG_IDENTIFIER, in the message) with _UID.
#
# Two jails read the same journal: sshd (the shipped match, maxretry N) and sshd-old (the match
# shipped before: _SYSTEMD_UNIT=... / _COMM=... with _UID=0). N root senders in ssh.service,
# named sshd, each send one failure and exit, released at once: first while journald runs, then
# while it is stopped (SIGSTOP) until every sender has exited and been reaped, so that no /proc
# lookup can succeed. Both counts are printed; the shipped match must count exactly N and ban at
# exactly N, the old one must have missed some under the stop. Forged failures sent the same way
# by a non-root user with a copy of logger named sshd count nowhere. The proxmox jail is measured
# the same way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

N=60
OLD_MATCH='_SYSTEMD_UNIT=ssh.service _UID=0 + _SYSTEMD_UNIT=sshd.service _UID=0 + _COMM=sshd _UID=0 + _COMM=sshd-session _UID=0'
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
maxretry = $N
findtime = 1h
bantime = 1h

[sshd-old]
enabled = true
filter = sshd
journalmatch = $OLD_MATCH
port = 2222
maxretry = $N
findtime = 1h
bantime = 1h

[proxmox]
enabled = true
maxretry = $N
findtime = 1h
bantime = 1h
CONF
rig_start_daemon --log-target journal

BIN=$RIG_TMP/bin
mkdir -p "$BIN"
for c in sshd pvedaemon; do
	[ -x "$BIN/$c" ] || cp "$(command -v logger)" "$BIN/$c"
done

# burst UNIT COMM UID MESSAGE: N senders, each a copy of logger named COMM in system.slice/UNIT
# running as UID, send MESSAGE once (@P@ replaced by a port number of its own) and exit. They
# wait at a gate (a line each from a fifo) and are released together; returns when all are
# reaped.
burst() {
	local unit=$1 comm=$2 uid=$3 tmpl=$4 i pids=() gate g
	local cg="$RIG_CG/system.slice/$unit"
	mkdir -p "$cg"
	gate=$(mktemp -u "$RIG_TMP/gate.XXXXXX")
	mkfifo -m 0600 "$gate"
	exec {g}<>"$gate"
	rm -f "$gate"
	for ((i = 1; i <= N; i++)); do
		(
			echo "$BASHPID" >"$cg/cgroup.procs"
			read -r -u "$g" _
			exec {g}>&-
			msg=${tmpl//@P@/$((40000 + i))}
			if [ "$uid" != 0 ]; then
				exec setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
					"$BIN/$comm" -u /run/systemd/journal/dev-log -t "$comm" --id="$BASHPID" "$msg"
			fi
			exec "$BIN/$comm" -u /run/systemd/journal/dev-log -t "$comm" --id="$BASHPID" "$msg"
		) &
		pids+=("$!")
	done
	for ((i = 1; i <= N; i++)); do printf '\n'; done >&"$g"
	for i in "${pids[@]}"; do
		wait "$i" || fail "a sender of '$tmpl' failed"
	done
	exec {g}>&-
}

# sentinel ADDR: N failures of ADDR from one sshd that stays alive until journald has them all
# (rig_log_bulk), so that both matches count them; once both jails banned ADDR, each has read
# every entry before them.
sentinel() {
	local f=$RIG_TMP/sentinel.txt i
	for ((i = 1; i <= N; i++)); do
		echo "Failed password for root from $1 port $((50000 + i)) ssh2"
	done >"$f"
	rig_log_bulk ssh.service sshd "$f"
	rig_wait_until 30 rig_nft_has "^${1//./\\.} tcp 22 " v4_port
	rig_wait_until 30 rig_nft_has "^${1//./\\.} tcp 2222 " v4_port
}

# failures JAIL: the jail's failures_total from nftjail status --json
failures() {
	rig_ctl status --json | "$RIG_PY" -c '
import json, sys
print([j for j in json.load(sys.stdin)["jails"] if j["name"] == sys.argv[1]][0]["failures_total"])' "$1"
}

# the ban event of ADDR in JAIL says it came at exactly N failures
banned_at_n() {
	rig_wait_until 30 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01 "NFTJAIL_JAIL=$1" \
		"NFTJAIL_ADDR=$2" "NFTJAIL_FAILURES=$N"
}

journald_stopped() {
	[ "$(awk '/^State:/ { print $2 }' "/proc/$RIG_JOURNALD_PID/status")" = T ]
}

# 1. a burst while journald runs: it falls behind or not, as the machine goes
burst ssh.service sshd 0 "Failed password for root from 203.0.113.61 port @P@ ssh2"
sentinel 198.51.100.61
new1=$(($(failures sshd) - N))
old1=$(($(failures sshd-old) - N))
rig_note "burst of $N exiting senders, journald running: shipped match counted $new1, old match $old1"
[ "$new1" = "$N" ] || fail "the shipped match counted $new1 of $N failures from senders that exited"
rig_nft_has '^203\.0\.113\.61 tcp 22 ' v4_port || fail "203.0.113.61 not banned after $N failures"
banned_at_n sshd 203.0.113.61

# 2. journald stopped while the senders write and exit: no sender is left in /proc when it reads
rig_on_exit 'kill -CONT "$RIG_JOURNALD_PID" 2>/dev/null'
kill -STOP "$RIG_JOURNALD_PID"
rig_wait_until 5 journald_stopped
burst ssh.service sshd 0 "Failed password for root from 203.0.113.62 port @P@ ssh2"
# the same from a local user (uid 1000) with a copy of logger named sshd: forged, counts nowhere
burst ssh.service sshd 1000 "Failed password for root from 203.0.113.63 port @P@ ssh2"
kill -CONT "$RIG_JOURNALD_PID"
sentinel 198.51.100.62
new2=$(($(failures sshd) - 3 * N))
old2=$(($(failures sshd-old) - 2 * N - old1))
rig_note "burst of $N exiting senders, journald stopped until they were reaped: shipped match counted $new2, old match $old2"
[ "$new2" = "$N" ] || fail "the shipped match counted $new2 of $N failures from senders that exited (forged ones included)"
[ "$old2" -lt "$N" ] || fail "the old match counted all $N: journald still found the senders, the stop did not work"
banned_at_n sshd 203.0.113.62
rig_nft_has '^203\.0\.113\.63 ' v4_port && fail "forged failures from uid 1000 got 203.0.113.63 banned"
[ -z "$(rig_journal_json MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04 NFTJAIL_ADDR=203.0.113.63)" ] ||
	fail "a forged failure from uid 1000 was counted"

# 3. pvedaemon (root) the same way, journald stopped: the proxmox jail bans at exactly N
kill -STOP "$RIG_JOURNALD_PID"
rig_wait_until 5 journald_stopped
burst pvedaemon.service pvedaemon 0 "authentication failure; rhost=::ffff:203.0.113.64 user=root@pam msg=Authentication failure (@P@)"
kill -CONT "$RIG_JOURNALD_PID"
rig_wait_until 30 rig_nft_has '^203\.0\.113\.64 tcp 8006 ' v4_port
banned_at_n proxmox 203.0.113.64
px=$(failures proxmox)
rig_note "burst of $N exiting pvedaemon senders, journald stopped: proxmox counted $px"
[ "$px" = "$N" ] || fail "the proxmox jail counted $px of $N failures"

rig_stop_daemon
echo ok
