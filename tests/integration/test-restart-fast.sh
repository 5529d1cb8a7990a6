#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A restart after a clean stop does not list the sets when nothing changed meanwhile (the token a
# clean stop leaves in the state: boot, network namespace, ruleset generation, configuration), and
# the bans stay enforced; anything that may have changed what the kernel holds or what the state
# says makes the next start list the sets and repair: an element deleted by hand, a ban added to
# the state by hand, a change of configuration, a crash.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_need_sqlite

rig_conf_dir
jail_conf() {
	printf '[sshd]\nenabled = true\nmaxretry = 2\nbantime = 1h\nport = %s\n' "$1" >"$RIG_CONF/jail.d/test.local"
}
jail_conf 22
# the Nth "start: restored" line, once it is there
restore_line() {
	rig_wait_until 10 test "$(grep -c 'start: restored' "$RIG_TMP/daemon.log")" -ge "$1"
	grep 'start: restored' "$RIG_TMP/daemon.log" | sed -n "${1}p"
}
listed() { ! grep -q 'sets not listed' <<<"$1"; }
starts=0
start() {
	rig_start_daemon
	starts=$((starts + 1))
	line=$(restore_line "$starts")
}
enforced() {
	local a
	for a in "$@"; do
		rig_nft_has "^${a//./\\.} tcp $port [0-9]+ " v4_port || fail "$a is not banned on port $port: $(rig_nft_elements v4_port)"
	done
}
port=22

rig_nft_load
start
listed "$line" || fail "the first start did not list the sets: $line"
for a in 192.0.2.61 192.0.2.62 192.0.2.63; do
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from $a port 4000$i ssh2"; done
done
for a in 192.0.2.61 192.0.2.62 192.0.2.63; do rig_wait_until 10 rig_nft_has "^${a//./\\.} tcp 22 " v4_port; done
rig_wait_until 5 test "$(rig_sql "select count(*) from bans")" = 3
rig_stop_daemon
[ "$(rig_sql "select count(*) from meta where key = 'clean_stop'")" = 1 ] || fail "a clean stop left no token"

# nothing changed: not listed, and the three bans are in place and still enforced
start
listed "$line" && fail "a restart with nothing changed listed the sets: $line"
grep -q 'restored 0 bans, adopted 0 (3 in place, 0 elements added' <<<"$line" || fail "restart: $line"
[ "$(rig_sql "select count(*) from meta where key = 'clean_stop'")" = 0 ] || fail "the start did not spend the token"
enforced 192.0.2.61 192.0.2.62 192.0.2.63

# an element deleted by hand while the daemon runs is an unban: the clean stop that follows
# leaves a token, and the restart neither lists nor brings the element back
rig_nft delete element inet nftjail v4_port '{ 192.0.2.63 . tcp . 22 }'
rig_wait_until 30 grep -q 'unbanned 192.0.2.63' "$RIG_TMP/daemon.log"
rig_stop_daemon
start
listed "$line" && fail "a restart after an unban seen while running listed the sets: $line"
grep -q 'restored 0 bans, adopted 0 (2 in place, 0 elements added' <<<"$line" || fail "restart: $line"
enforced 192.0.2.61 192.0.2.62
rig_nft_has '^192\.0\.2\.63 ' v4_port && fail "the unbanned 192.0.2.63 came back: $(rig_nft_elements v4_port)"
# banned again, for the cases below
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.63 port 4100$i ssh2"; done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.63 tcp 22 ' v4_port
rig_stop_daemon

# an element added by hand while the daemon runs: the next start lists the sets and adopts it
start
listed "$line" && fail "a restart after a ban seen while running listed the sets: $line"
rig_nft add element inet nftjail v4_port '{ 198.51.100.9 . tcp . 22 timeout 30m comment "sshd" }'
rig_wait_until 10 rig_nft_has '^198\.51\.100\.9 tcp 22 ' v4_port
rig_stop_daemon
start
listed "$line" || fail "a restart after an element added by hand while running did not list the sets: $line"
grep -q 'adopted 1 ' <<<"$line" || fail "the element added by hand was not adopted: $line"
[ "$(rig_sql "select jail from bans where addr = '198.51.100.9'")" = sshd ] || fail "adopted ban not in the state"
rig_stop_daemon

# an element deleted by hand while the daemon is down: listed, put back
rig_nft delete element inet nftjail v4_port '{ 192.0.2.62 . tcp . 22 }'
start
listed "$line" || fail "a restart after a deletion by hand did not list the sets: $line"
grep -q 'restored 1 bans' <<<"$line" || fail "the deleted element was not restored: $line"
enforced 192.0.2.61 192.0.2.62 192.0.2.63
rig_stop_daemon

# a ban added to the state by hand while the daemon is down: the trigger spent the token
now=$(date +%s)
rig_sql "insert into bans(addr, prefixlen, jail, start, \"end\", failures) values ('192.0.2.64', 32, 'sshd', $now, $now + 3600, 2)"
start
listed "$line" || fail "a restart after a ban added by hand did not list the sets: $line"
grep -q 'restored 1 bans' <<<"$line" || fail "the ban added by hand was not restored: $line"
enforced 192.0.2.61 192.0.2.62 192.0.2.63 192.0.2.64
rig_stop_daemon

# a restart with nothing changed again, then the jail moves to another port: listed, and the bans
# are enforced on the new port
start
listed "$line" && fail "the second restart with nothing changed listed the sets: $line"
rig_stop_daemon
jail_conf 2222
port=2222
start
listed "$line" || fail "a restart after a change of configuration did not list the sets: $line"
enforced 192.0.2.61 192.0.2.62 192.0.2.63 192.0.2.64

# a crash leaves no token (the start spent it): the next start lists
rig_kill_daemon
[ "$(rig_sql "select count(*) from meta where key = 'clean_stop'")" = 0 ] || fail "a token survived the start"
start
listed "$line" || fail "a start after a crash did not list the sets: $line"
enforced 192.0.2.61 192.0.2.62 192.0.2.63 192.0.2.64
rig_stop_daemon
echo ok
