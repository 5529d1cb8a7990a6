#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# How long the table is missing after "nft flush ruleset" under a running daemon that holds
# 768 bans x 130 ports (99,840 elements), until every ban is back; and the same for a restart
# after a "reboot" (table gone). Runs in the integration rig (namespaces); prints figures.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
port = 1000:1129
bantime = 1h
CONF
rig_nft_load
rig_start_daemon
grep -E "ruleset changed|overran" "$RIG_TMP/daemon.log" || true
rig_stop_daemon
now=$(date +%s)
sqlite3 "$RIG_STATE/nftjail.db" "
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 767)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT (CASE i / 256 WHEN 0 THEN '192.0.2.' WHEN 1 THEN '198.51.100.' ELSE '203.0.113.' END) || (i % 256),
       32, 'sshd', $now, $now + 3600, 5 FROM n;"
last() { nft get element inet nftjail v4_port '{ 203.0.113.255 . tcp . 1129 }' >/dev/null 2>&1; }
ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

rig_nft delete table inet nftjail
t0=$(ms)
rig_start_daemon
rig_wait_until 30 last
t1=$(ms)
echo "restart after a reboot (table gone), 768 bans / 99840 elements: daemon start to last ban back: $((t1 - t0)) ms"
grep 'start: restored' "$RIG_TMP/daemon.log" | tail -1

for k in 1 2 3; do
	t0=$(ms)
	rig_nft flush ruleset
	tf=$(ms)
	rig_wait_until 30 last
	t1=$(ms)
	t2=$(ms)
	last
	t3=$(ms)
	echo "(one 'nft get element' probe takes $((t3 - t2)) ms: the figure above includes up to that)"
	echo "nft flush ruleset, run $k: the command took $((tf - t0)) ms; every ban (99840 elements) back $((t1 - tf)) ms after it returned (50 ms polling)"
done
grep -E "ruleset changed|overran" "$RIG_TMP/daemon.log" || true
rig_stop_daemon
