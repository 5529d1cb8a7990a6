#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The restore applies the state in chunks of a transaction's size (restore.c, RESTORE_CHUNK:
# 16,384 elements) as it reads it. An element that two bans give (two jails on one port, two
# addresses of one IPv6 /64) still gets the longest of its bans, also when the two fall into
# different chunks: on this kernel a second add replaces the timeout, so a naive chunking would
# leave the shorter one. 140,000 bans of jail sshd (port 22, 2001:db8::/32 /64s, text order =
# numeric order, 1 h); rows 60,000 to 70,000 and 125,000 to 135,000 (chunks of 16,384 to 131,072
# end among them: the store reads by address then jail) are given 4 h in sshd and 1 h in sshd2
# (the same port: the same element); two addresses of the /64 2001:db8:ffff:1::/64, 4 h then 1 h,
# are in the last chunk.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_need_sqlite
rig_tmpfs /var/log
export RIG_READY_TIMEOUT=300

N=140000
rig_conf_dir
: >/var/log/empty.log
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
backend = auto
logpath = /var/log/empty.log
port = 22
bantime = 1h

[sshd2]
enabled = true
filter = sshd
backend = auto
logpath = /var/log/empty.log
port = 22
bantime = 1h
CONF
rig_nft_load
rig_start_daemon
rig_stop_daemon
rig_nft delete table inet nftjail
now=$(date +%s)
rig_sql "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT printf('2001:db8:%04x:%04x::1', i / 65536, i % 65536), 64, 'sshd', $now,
       $now + CASE WHEN i BETWEEN 60000 AND 70000 OR i BETWEEN 125000 AND 135000 THEN 14400 ELSE 3600 END, 5 FROM n;
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT addr, prefixlen, 'sshd2', start, $now + 3600, failures FROM bans WHERE \"end\" = $now + 14400;
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures) VALUES
  ('2001:db8:ffff:1::1', 64, 'sshd', $now, $now + 14400, 5),
  ('2001:db8:ffff:1::2', 64, 'sshd', $now, $now + 3600, 5);
COMMIT;"

rig_nft_load
rig_start_daemon
rig_wait_until 300 grep -q '^start: restored' "$RIG_TMP/daemon.log"
line=$(grep '^start: restored' "$RIG_TMP/daemon.log" | tail -n 1)
rig_note "$line"
grep -q "$((N + 1)) elements added" <<<"$line" || fail "expected $((N + 1)) elements: $line"
rig_nft_elements v6_port >"$RIG_TMP/elements"
[ "$(wc -l <"$RIG_TMP/elements")" = $((N + 1)) ] || fail "the kernel holds $(wc -l <"$RIG_TMP/elements") elements, expected $((N + 1))"
# "addr proto port timeout expires comment": every 4 h ban kept its 4 h, the 20,002 shared with sshd2 and the /64 of two addresses
long=$(awk '$5 > 7200' "$RIG_TMP/elements" | wc -l)
[ "$long" = 20003 ] || fail "of the 20,003 elements with a 4 h ban and a 1 h one, $long kept their 4 h"
awk '$1 == "2001:db8:ffff:1::/64" && $5 > 7200 { ok = 1 } END { exit !ok }' "$RIG_TMP/elements" ||
	fail "2001:db8:ffff:1::/64: the shorter of its two bans won"
e=$(awk '$1 == "2001:db8:0:5::/64" { print $5 }' "$RIG_TMP/elements")
[ -n "$e" ] && [ "${e%.*}" -le 3600 ] || fail "2001:db8:0:5::/64 expires in '${e}'s, expected at most 3600"
rig_stop_daemon
