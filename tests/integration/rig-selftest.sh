#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tests the integration rig itself (lib.sh): private journald and trusted
# journal fields, isolation from the host, attacker namespace, nft timeouts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rig_enter "$@"

token="rigselftest-$$-$RANDOM$RANDOM"

# --- journald is private -------------------------------------------------
[ -S /run/systemd/journal/socket ] || fail "journal socket missing"
[ -S /run/systemd/journal/dev-log ] || fail "dev-log socket missing"
[ "$(findmnt -n -o FSTYPE --target /run/log/journal)" = tmpfs ] || fail "/run/log/journal is not on a tmpfs"
[ "$(findmnt -n -o FSTYPE --target /var/log/journal)" = tmpfs ] || fail "/var/log/journal is not on a tmpfs"
[ "$(findmnt -n -o FSTYPE --target /etc/systemd/journald.conf)" = tmpfs ] ||
	fail "journald.conf is not our bind-mounted copy"
grep -qx 'Storage=volatile' /etc/systemd/journald.conf || fail "journald.conf lacks Storage=volatile"

# --- rig_log: trusted fields ---------------------------------------------
msg="Failed password for root from 192.0.2.66 port 52113 ssh2 $token"
rig_log ssh.service sshd "$msg"
pid=$RIG_LAST_LOG_PID
expect_field() {
	local got
	got=$(rig_journal_field "$1" "$2") || fail "entry of pid $1 has no $2"
	[ "$got" = "$3" ] || fail "$2 of pid $1: expected '$3', got '$got'"
}
expect_field "$pid" _SYSTEMD_UNIT ssh.service
expect_field "$pid" _COMM sshd
expect_field "$pid" _UID 0
expect_field "$pid" SYSLOG_IDENTIFIER sshd
expect_field "$pid" SYSLOG_PID "$pid"
expect_field "$pid" MESSAGE "$msg"
expect_field "$pid" _SYSTEMD_CGROUP /system.slice/ssh.service
line=$(journalctl -q --no-pager -o short "_PID=$pid")
case "$line" in
*" sshd[$pid]: $msg") ;;
*) fail "journalctl line does not look like sshd[$pid]: ...: '$line'" ;;
esac
# matches like a daemon's journalmatch find it
[ "$(journalctl -q --no-pager -o cat _SYSTEMD_UNIT=ssh.service _COMM=sshd | grep -c -- "$token")" = 1 ] ||
	fail "_SYSTEMD_UNIT=ssh.service _COMM=sshd match does not give exactly our line"

# another unit, another comm, a non-root uid
rig_log nginx.service nginx 33 "GET /wp-login.php 403 $token"
pid2=$RIG_LAST_LOG_PID
expect_field "$pid2" _SYSTEMD_UNIT nginx.service
expect_field "$pid2" _COMM nginx
expect_field "$pid2" _UID 33

# --- rig_log_untrusted: a forged sshd line --------------------------------
rig_log_untrusted sshd "Failed password for root from 203.0.113.9 port 1 ssh2 $token"
pid3=$RIG_LAST_LOG_PID
expect_field "$pid3" _COMM logger
expect_field "$pid3" SYSLOG_IDENTIFIER sshd
if unit=$(rig_journal_field "$pid3" _SYSTEMD_UNIT); then
	[ "$unit" != ssh.service ] || fail "untrusted line got _SYSTEMD_UNIT=ssh.service"
fi
n=$(journalctl -q --no-pager -o cat _SYSTEMD_UNIT=ssh.service | grep -c -- "$token" || true)
[ "$n" = 1 ] || fail "the ssh.service match shows $n lines with our token, expected 1"

# --- the host's journal was not touched -----------------------------------
# Look at the host's journal directories from the host mount namespace.
host_hits=$(rig_host_mount_exec sh -c '
	for d in /run/log/journal /var/log/journal; do
		[ -d "$d" ] && grep -rl -- "$1" "$d" 2>/dev/null
	done; true' sh "$token") || fail "cannot look at the host journal directories"
[ -z "$host_hits" ] || fail "our token reached the host journal: $host_hits"
if rig_host_mount_exec test -S /run/systemd/journal/socket; then
	if rig_host_mount_exec journalctl -q --no-pager -o cat -g "$token" 2>/dev/null | grep -q .; then
		fail "our token is in the host's journal"
	fi
else
	rig_note "host has no running journald; checked its journal directories only"
fi

# --- nft: a timeout element blocks one port, then expires -----------------
rig_nft_load "$RIG_LIBDIR/rig-selftest.nft"
rig_attacker_ns 192.0.2.66 2001:db8::66
rig_listen 22 8006
rig_connect 192.0.2.1 22 || fail "port 22 does not connect before any ban"
rig_connect 2001:db8::1 22 || fail "port 22 over IPv6 does not connect before any ban"
rig_connect 192.0.2.1 8006 || fail "port 8006 does not connect before any ban"

# 8 s: the checks below must all see the element; under ASan on a loaded machine 3 s once ran out
# before the counter was listed
rig_nft add element inet nftjail v4_port '{ 192.0.2.66 . tcp . 22 timeout 8s comment "rig-selftest" }'
rig_nft_has '^192\.0\.2\.66 tcp 22 8 [0-9]+ rig-selftest$' v4_port ||
	fail "element not listed as expected: $(rig_nft_elements v4_port)"
rig_nft_has '^v4_port 192\.0\.2\.66 tcp 22 8 [0-9]+ rig-selftest$' ||
	fail "element not listed with its set name: $(rig_nft_elements)"
RIG_CONNECT_TIMEOUT=1 rig_connect 192.0.2.1 22 && fail "banned address still connects to port 22"
rig_nft_elements --counters v4_port | grep -Eq '^192\.0\.2\.66 tcp 22 8 [0-9]+ [1-9][0-9]* [0-9]+ rig-selftest$' ||
	fail "element counter did not count the dropped SYN: $(rig_nft_elements --counters v4_port)"
rig_connect 192.0.2.1 8006 || fail "the ban on port 22 also blocks port 8006"
rig_connect 2001:db8::1 22 || fail "the IPv4 ban blocks IPv6"
# the kernel expires the element; then the port connects again
rig_wait_until 30 rig_connect 192.0.2.1 22
rig_nft_has '^192\.0\.2\.66 ' v4_port && fail "expired element still listed"

# a second attacker address, IPv6 prefix ban
rig_attacker_addr 2001:db8::77
rig_nft add element inet nftjail v6_port '{ 2001:db8::/64 . tcp . 8006 timeout 1h comment "rig v6" }'
rig_nft_has '^2001:db8::/64 tcp 8006 3600 [0-9]+ rig v6$' v6_port ||
	fail "v6 prefix element not listed: $(rig_nft_elements v6_port)"
RIG_CONNECT_TIMEOUT=1 rig_connect 2001:db8::1 8006 2001:db8::77 && fail "v6 prefix ban does not block 2001:db8::77"
rig_connect 2001:db8::1 22 2001:db8::77 || fail "v6 prefix ban on 8006 blocks port 22"

# --- daemon helpers, with a stand-in daemon --------------------------------
rig_conf_dir
grep -qx "nft_file = $RIG_NFT_FILE" "$RIG_CONF/nftjail.local" || fail "nftjail.local does not set nft_file"
[ -d "$RIG_CONF/jail.d" ] || fail "no jail.d in the test config dir"
NFTJAILD="$RIG_LIBDIR/rig_fake_daemon.py"
rig_start_daemon
[ -S "$RIG_SOCK" ] || fail "rig_start_daemon returned before the socket existed"
rig_daemon_alive || fail "daemon not alive after start"
rig_stop_daemon
[ "$RIG_DAEMON_STATUS" = 0 ] || fail "daemon status $RIG_DAEMON_STATUS"
grep -q 'fake-daemon: SIGTERM' "$RIG_TMP/daemon.log" || fail "daemon.log lacks the daemon's stderr"
rig_start_daemon --exit-status 3
rig_stop_daemon --any-status
[ "$RIG_DAEMON_STATUS" = 3 ] || fail "expected daemon status 3, got $RIG_DAEMON_STATUS"
out=$( (rig_start_daemon --exit-status 4; rig_stop_daemon) 2>&1 ) && fail "rig_stop_daemon accepted status 4"
case "$out" in
*"nftjaild exited with status 4"*) ;;
*) fail "rig_stop_daemon message: '$out'" ;;
esac
rig_start_daemon
rig_kill_daemon
rig_daemon_alive && fail "daemon alive after rig_kill_daemon"
rig_start_daemon # left running: the exit trap must stop it

# --- rig_wait_until fails with the command --------------------------------
out=$( (rig_wait_until 1 false) 2>&1 ) && fail "rig_wait_until succeeded on false"
case "$out" in
*"timed out after 1s waiting for: false"*) ;;
*) fail "rig_wait_until message: '$out'" ;;
esac

echo "rig selftest: OK"
