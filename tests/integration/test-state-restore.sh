#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Nothing lost: bans are recorded in $STATE/nftjail.db; a "reboot" (table gone while the daemon is
# down) brings them back with their remaining time, permanent ones too; an element added by hand
# while the daemon was down is adopted; "nft flush ruleset" under a running daemon is repaired;
# an element deleted by hand becomes an unban in the state.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_need_sqlite

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h

[proxmox]
enabled = true
maxretry = 2
bantime = -1
CONF
rig_nft_load
rig_start_daemon
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 4000$i ssh2"; done
for i in 1 2; do rig_log pvedaemon.service pvedaemon "authentication failure; rhost=203.0.113.9 user=root@pam msg=Authentication failure"; done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 3600 ' v4_port
rig_wait_until 10 rig_nft_has '^203\.0\.113\.9 tcp 8006 - ' v4_port
# one row per ban, in the flush that banned it
rig_wait_until 5 test "$(rig_sql "select count(*) from bans")" = 2
[ "$(rig_sql "select jail, failures, \"end\" - start from bans where addr = '192.0.2.66'")" = "sshd|2|3600" ] ||
	fail "state row of 192.0.2.66: $(rig_sql "select * from bans")"
[ "$(rig_sql "select jail, failures, \"end\" is null from bans where addr = '203.0.113.9'")" = "proxmox|2|1" ] ||
	fail "state row of 203.0.113.9: $(rig_sql "select * from bans")"
rig_sql "select evidence from bans where addr = '192.0.2.66'" | grep -q 'Failed password for root from 192.0.2.66 port 40002' ||
	fail "evidence missing: $(rig_sql "select evidence from bans")"
rig_stop_daemon

# "reboot": the kernel forgets everything while the daemon is down
rig_nft delete table inet nftjail
# and an element added by hand while it is down (or left by a crash) must be adopted
rig_nft_load
rig_nft add element inet nftjail v4_port '{ 198.51.100.7 . tcp . 22 timeout 30m comment "sshd" }'
rig_start_daemon
rig_wait_until 10 grep -q 'restored 2 bans, adopted 1' "$RIG_TMP/daemon.log"
# remaining time, not a new full bantime: the timeout is what was left (< 3600 s)
line=$(rig_nft_elements v4_port | grep '^192\.0\.2\.66 tcp 22 ') || fail "192.0.2.66 not restored"
t=$(awk '{ print $4 }' <<<"$line")
[ "$t" -le 3600 ] && [ "$t" -ge 3000 ] || fail "restored timeout $t is not the remaining time: $line"
rig_nft_has '^203\.0\.113\.9 tcp 8006 - ' v4_port || fail "permanent ban not back after the reboot"
for p in 80 443; do rig_nft_has "^203\\.0\\.113\\.9 tcp $p - " v4_port || fail "permanent ban port $p not back"; done
[ "$(rig_sql "select jail, failures, \"end\" - start from bans where addr = '198.51.100.7'")" = "sshd|0|1800" ] ||
	fail "adopted ban not in the state: $(rig_sql "select * from bans")"
# restored bans are not new bans
[ "$(grep -c ': banned ' "$RIG_TMP/daemon.log")" = 2 ] ||
	fail "restored bans were logged as bans"

# the ruleset is flushed under a running daemon: everything comes back (bounded wait)
rig_nft flush ruleset
rig_wait_until 5 rig_nft_has '^192\.0\.2\.66 tcp 22 ' v4_port
rig_wait_until 5 rig_nft_has '^198\.51\.100\.7 tcp 22 ' v4_port
rig_wait_until 5 rig_nft_has '^203\.0\.113\.9 tcp 8006 - ' v4_port
rig_wait_until 5 bash -c "nft list chain inet nftjail input | grep -q '@v4_port drop'"

# an element deleted by hand is an unban
rig_nft delete element inet nftjail v4_port '{ 192.0.2.66 . tcp . 22 }'
rig_wait_until 5 grep -q 'sshd: unbanned 192.0.2.66 (element deleted from the ruleset by hand)' "$RIG_TMP/daemon.log"
rig_wait_until 5 test "$(rig_sql "select count(*) from bans where addr = '192.0.2.66' and \"end\" <= strftime('%s','now')")" = 1
# the daemon does not put it back, and its other bans stay
rig_nft_has '^192\.0\.2\.66 ' v4_port && fail "hand-deleted element came back"
rig_nft_has '^198\.51\.100\.7 tcp 22 ' v4_port || fail "another ban vanished"
# a table deleted the same way must not turn into unbans
rig_nft delete table inet nftjail
rig_wait_until 5 rig_nft_has '^198\.51\.100\.7 tcp 22 ' v4_port
rig_wait_until 5 grep -q 'ruleset changed: restored' "$RIG_TMP/daemon.log"
[ "$(grep -c ': unbanned ' "$RIG_TMP/daemon.log")" = 1 ] ||
	fail "deleting the table was taken for unbans"
rig_stop_daemon

# dbpurgeage (default 1d): history that ended before it is deleted at start; live bans stay
now=$(date +%s)
rig_sql "insert into bans(addr, prefixlen, jail, start, \"end\", failures) values ('192.0.2.200', 32, 'sshd', $((now - 3 * 86400)), $((now - 2 * 86400)), 5)"
# a jail that is gone: its bans are not restored, and its elements still in the kernel are not
# adopted again as new bans at every start
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
for k in 1 2; do
	rig_start_daemon
	rig_wait_until 10 grep -q "start: restored" <(tail -n 5 "$RIG_TMP/daemon.log")
	rig_stop_daemon
done
[ "$(rig_sql "select count(*) from bans where addr = '192.0.2.200'")" = 0 ] || fail "old history not purged"
[ "$(rig_sql "select count(*) from bans where addr = '203.0.113.9'")" = 1 ] ||
	fail "ban of a removed jail adopted again: $(rig_sql "select * from bans where addr = '203.0.113.9'")"
grep -q 'start: 1 bans not restored' "$RIG_TMP/daemon.log" || fail "dropped ban not reported"
[ "$(rig_sql "select count(*) from bans where addr = '198.51.100.7'")" = 1 ] || fail "adopted ban adopted twice"
echo ok
