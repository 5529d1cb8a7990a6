#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fail2ban-server for the comparison pieces, sourced after tests/integration/lib.sh (inside the
# rig): its configuration is the installed package's (/etc/fail2ban, copied at run time, never
# committed) without local files; its socket, pidfile, log and database are under $F2B.
[ -n "${F2B:-}" ] || F2B=$RIG_TMP/f2b
F2B_PID=

f2b_client() { fail2ban-client -c "$F2B/etc" -s "$F2B/f2b.sock" "$@"; }

# f2b_etc DBFILE [LINE...]: $F2B/etc from /etc/fail2ban, with a fail2ban.local that points
# everything into $F2B (LINEs are added to its [Definition])
f2b_etc() {
	local db=$1
	shift
	mkdir -p "$F2B"
	rm -rf "$F2B/etc"
	cp -a /etc/fail2ban "$F2B/etc"
	rm -f "$F2B"/etc/jail.d/* "$F2B"/etc/fail2ban.d/* "$F2B"/etc/*.local
	{
		printf '[Definition]\nloglevel = INFO\nlogtarget = %s\nsocket = %s\npidfile = %s\ndbfile = %s\n' \
			"$F2B/fail2ban.log" "$F2B/f2b.sock" "$F2B/f2b.pid" "$db"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$F2B/etc/fail2ban.local"
}

# f2b_start: fail2ban-server on $F2B/etc in the background (F2B_PID)
f2b_start() {
	rm -f "$F2B/f2b.sock" "$F2B/f2b.pid"
	fail2ban-server -f -x -c "$F2B/etc" -s "$F2B/f2b.sock" -p "$F2B/f2b.pid" </dev/null >>"$F2B/server.log" 2>&1 &
	F2B_PID=$!
}

# f2b_sshd_jail BANTIME: a jail.local with jail sshd alone, polling an empty log file, banaction
# nftables-multiport: the bans come from fail2ban's database, not from log lines
f2b_sshd_jail() {
	cat >"$F2B/etc/jail.local" <<-CONF
		[DEFAULT]
		banaction = nftables-multiport
		bantime = $1
		findtime = 1h

		[sshd]
		enabled = true
		backend = polling
		logpath = /var/log/empty.log
	CONF
}

f2b_stop() {
	[ -n "$F2B_PID" ] || return 0
	f2b_client stop >/dev/null 2>&1 || kill -TERM "$F2B_PID" 2>/dev/null || true
	rig_poll 30 _rig_pid_gone "$F2B_PID" || kill -KILL "$F2B_PID" 2>/dev/null || true
	wait "$F2B_PID" 2>/dev/null || true
	F2B_PID=
	nft delete table inet f2b-table 2>/dev/null || true
}
rig_on_exit f2b_stop
