#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bantime.increment: the ban count lives in the state, so a repeat offender's bans double across a
# restart: bantime 100 s, factor 1, fail2ban's default formula -> 100, 200, 400.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
DB=$RIG_STATE/nftjail.db
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 100
bantime.increment = true
bantime.factor = 1
bantime.formula = ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor
CONF
rig_nft_load

attack() {
	local i
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 4100$i ssh2"; done
}
# the admin lifts the ban by hand: the daemon records the unban, the count stays
lift() {
	rig_nft delete element inet nftjail v4_port '{ 192.0.2.66 . tcp . 22 }'
	rig_wait_until 30 test "$(grep -c 'unbanned 192.0.2.66' "$RIG_TMP/daemon.log")" = "$1"
}

rig_start_daemon
attack
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 100 ' v4_port
lift 1
attack
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 200 ' v4_port
lift 2
rig_stop_daemon
rig_start_daemon
attack
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 400 ' v4_port
# three bans recorded; the first two ended by hand, the last one runs 400 s
[ "$(sqlite3 "$DB" "select count(*), sum(\"end\" - start < 100) from bans where addr = '192.0.2.66'")" = "3|2" ] ||
	fail "state: $(sqlite3 "$DB" "select * from bans")"
[ "$(sqlite3 "$DB" "select \"end\" - start from bans where addr = '192.0.2.66' order by id desc limit 1")" = 400 ] ||
	fail "state: $(sqlite3 "$DB" "select * from bans")"
grep -q 'sshd: banned 192.0.2.66 for 6m40s after 2 failures' "$RIG_TMP/daemon.log" ||
	fail "ban event does not carry the incremented time: $(grep banned "$RIG_TMP/daemon.log")"
rig_stop_daemon
echo ok
