#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Peak memory of the restore at start, in the integration rig: nftjaild starts with a state of
# N = 1,000,000 live bans (BENCH_RESTORE_BANS) and an empty table inet nftjail (a reboot), IPv6
# /64s of 2001:db8::/32 in jail sshd (the documentation IPv4 ranges hold only 768 addresses).
# Prints the daemon's own restore line, its peak RSS (VmHWM) and its RSS once restored. Never
# fails on a figure.
set -euo pipefail
. "$SRCDIR/tests/integration/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
rig_tmpfs /var/log
export RIG_READY_TIMEOUT=600

N=${BENCH_RESTORE_BANS:-1000000}
rig_conf_dir
printf '[sshd]\nenabled = true\nbackend = auto\nlogpath = /var/log/empty.log\nport = 22\nbantime = 1h\n' \
	>"$RIG_CONF/jail.d/bench.local"
: >/var/log/empty.log
rig_nft_load
rig_start_daemon
rig_stop_daemon
rig_nft delete table inet nftjail
now=$(date +%s)
sqlite3 "$RIG_STATE/nftjail.db" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT printf('2001:db8:%x:%x::1', i / 65536, i % 65536), 64, 'sshd', $now, $now + 7200, 5 FROM n;
COMMIT;"

rig_nft_load
: >"$RIG_TMP/daemon.log"
rig_start_daemon
rig_wait_until 600 grep -q '^start: restored' "$RIG_TMP/daemon.log"
sleep 1
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$RIG_DAEMON_PID/status"; }
hwm=$(kib VmHWM) rss=$(kib VmRSS)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep '^start: restored' "$RIG_TMP/daemon.log" | tail -n 1
awk -v n="$N" -v h="$hwm" -v r="$rss" 'BEGIN {
	printf "restore of %d bans: peak RSS %.1f MiB, RSS once restored %.1f MiB\n", n, h / 1024, r / 1024 }'
rig_stop_daemon
