#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# cmp-nft-restore: a piece of tests/bench/compare.py (env SRCDIR, NFTJAILD, BENCH_RUNS, BENCH_QUICK,
# BENCH_JSON). Restoring bans at start into an empty table, in the integration rig (namespaces).
#
# nftjail: nftjaild starts with a state holding N = 100,000 live bans (BENCH_QUICK: 10,000) and
# table inet nftjail loaded but empty (a reboot: nftables.service loaded the file); the figure is
# the daemon's own, from its "start: restored" line: table check + listing + state read + the
# netlink batches, until the kernel acknowledged the last element. Three rows:
#  - a mix of IPv4 and IPv6 /64 (ipv6_prefix 64, the default) bans of per-port jails. There are
#    only 768 IPv4 documentation addresses, so the IPv4 bans are those 768 in each of 30 jails on
#    ports 22 and 10001-10029 (the same sshd filter, an empty log file each): 23,040 IPv4 bans
#    (not the 90% a real host would have) and 76,960 IPv6 bans of jail sshd, one element each;
#  - 100,000 IPv6 /64 bans of jail sshd (port 22);
#  - the mix again, restarted after a clean stop with every element still in the kernel (nftjail
#    only: fail2ban removes its table when it stops).
# fail2ban (when installed): fail2ban-server 1.x with its sqlite database holding NF = 100 bans
# (BENCH_QUICK: 30) of jail sshd, banaction nftables-multiport; at start it re-runs actionban for
# each, one nft process per ban. Its rate is taken from the first to the last element appearing
# in its set (its start-up before the first ban is left out), and the row reports the time that
# rate takes for N bans (extrapolated; the measured figures are in the note).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"

RUNS=${BENCH_RUNS:-5}
N=100000
NF=100
if [ "${BENCH_QUICK:-}" = 1 ]; then
	N=10000
	NF=30
fi
# IPv4: the 768 addresses in each of JAILS jails, as near 90% of N as that goes, but at most 30
# jails: each jail reading a file holds an inotify instance, and the user's limit (128 by
# default, shared with everything else running as root) must not run out
JAILS=$(((N * 9 / 10 + 384) / 768))
[ "$JAILS" -le 30 ] || JAILS=30
N4=$((768 * JAILS))
N6=$((N - N4))
J4=$JAILS
rig_tmpfs /var/log
OUT=$RIG_TMP/results
: >"$OUT"
OVERRUNS=0
ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# ---- nftjail: two state directories, made once by the daemon and filled with sqlite3
rig_conf_dir
: >/var/log/empty.log
{
	printf '[sshd]\nenabled = true\nport = 22\nbantime = 1h\n'
	for k in $(seq 1 $((JAILS - 1))); do
		printf '\n[sshd-%d]\nenabled = true\nfilter = sshd\nport = %d\nlogpath = /var/log/empty.log\nbantime = 1h\n' \
			"$k" $((10000 + k))
	done
} >"$RIG_CONF/jail.d/bench.local"

fill_state() { # DIR N4_JAILS N6
	local dir=$1 j4=$2 n6=$3 now
	RIG_STATE=$dir
	mkdir -p "$dir"
	rig_nft_load
	rig_start_daemon
	rig_stop_daemon
	now=$(date +%s)
	sqlite3 "$dir/nftjail.db" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 768 * $j4 - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT (CASE (i % 768) / 256 WHEN 0 THEN '192.0.2.' WHEN 1 THEN '198.51.100.' ELSE '203.0.113.' END) || (i % 256),
       32, CASE i / 768 WHEN 0 THEN 'sshd' ELSE 'sshd-' || (i / 768) END, $now, $now + 3600, 5 FROM n WHERE $j4 > 0;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $n6 - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT printf('2001:db8:%x:%x::1', i / 65536, i % 65536), 64, 'sshd', $now, $now + 3600, 5 FROM n WHERE $n6 > 0;
COMMIT;"
	rig_nft delete table inet nftjail
}
STATE_MIX=$RIG_TMP/state-mix
STATE_V6=$RIG_TMP/state-v6
fill_state "$STATE_MIX" "$J4" "$N6"
fill_state "$STATE_V6" 0 "$N"

# settled: the restore's own notifications may overrun the daemon's monitor socket, which then
# lists the table again ("ruleset changed: restored"); wait for that before stopping it
settled() {
	! grep -q 'overran the monitor socket' "$RIG_TMP/daemon.log" || grep -q '^ruleset changed: restored' "$RIG_TMP/daemon.log"
}

# nftjail_start: starts the daemon on $RIG_STATE; sets line (its "start: restored" line) and wall
# (ms from the start to that line)
nftjail_start() {
	local t0
	: >"$RIG_TMP/daemon.log"
	t0=$(ms)
	rig_start_daemon
	rig_wait_until 120 grep -q '^start: restored' "$RIG_TMP/daemon.log"
	wall=$(($(ms) - t0))
	line=$(grep '^start: restored' "$RIG_TMP/daemon.log" | tail -n 1)
}

# restore_ms: the restore's own time in line (table check + bans)
restore_ms() {
	local tbl bans
	tbl=$(sed -n 's/.*table \([0-9]*\) ms.*/\1/p' <<<"$line")
	bans=$(sed -n 's/.*bans \([0-9]*\) ms).*/\1/p' <<<"$line")
	echo $((tbl + bans))
}

# run_nftjail ROW STATE_DIR [restart]: one start; appends "ROW nftjail MS WALL_MS" to $OUT. With
# restart, a second start after a clean stop, the bans in place: "restart nftjail MS WALL_MS"
run_nftjail() {
	local row=$1 line wall n
	RIG_STATE=$2
	rig_nft_load
	nftjail_start
	rig_wait_until 300 settled
	grep -q 'overran the monitor socket' "$RIG_TMP/daemon.log" && OVERRUNS=$((OVERRUNS + 1))
	rig_stop_daemon
	n=$(sed -n 's/^start: restored \([0-9]*\) bans.*/\1/p' <<<"$line")
	[ "$n" = "$N" ] || fail "restored $n bans, expected $N: $line"
	echo "$row nftjail $(restore_ms) $wall" >>"$OUT"
	if [ "${3:-}" = restart ]; then
		nftjail_start
		rig_stop_daemon
		grep -q "restored 0 bans, adopted 0 ($N in place" <<<"$line" || fail "restart: $line"
		echo "restart nftjail $(restore_ms) $wall" >>"$OUT"
		grep -q 'sets not listed' <<<"$line" && NOT_LISTED=$((NOT_LISTED + 1))
	fi
	rig_nft delete table inet nftjail
}
NOT_LISTED=0

# ---- fail2ban
F2B_VERSION=
if command -v fail2ban-server >/dev/null && [ -d /etc/fail2ban/action.d ] && [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
	F2B_VERSION=$(fail2ban-server --version 2>/dev/null | head -n 1 | awk '{print $NF}')
fi
. "$(dirname "$0")/f2b-lib.sh"
f2b_count() {
	nft -j list table inet f2b-table 2>/dev/null |
		"$RIG_PY" -c 'import json, sys; print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))' 2>/dev/null ||
		echo 0
}
if [ -n "$F2B_VERSION" ]; then
	f2b_etc "$F2B/f2b.sqlite3" "dbpurgeage = 1d"
	f2b_sshd_jail 1h
	# one start makes the database; then NF live bans (90% IPv4, 10% IPv6) into it
	f2b_start
	rig_wait_until 30 f2b_client status sshd
	f2b_stop
	now=$(date +%s)
	sqlite3 "$F2B/f2b.sqlite3" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $NF - 1),
     a(ip) AS (SELECT CASE WHEN i % 10 = 9 THEN printf('2001:db8:%x::1', i + 1)
                      ELSE (CASE (i % 3) WHEN 0 THEN '192.0.2.' WHEN 1 THEN '198.51.100.' ELSE '203.0.113.' END) || (i / 3 + 1) END
               FROM n)
INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) SELECT 'sshd', ip, $now, 3600, 1, '{}' FROM a;
INSERT INTO bips(ip, jail, timeofban, bantime, bancount, data) SELECT ip, jail, timeofban, bantime, bancount, data FROM bans;
COMMIT;"
fi

# run_f2b: one start; appends "mix fail2ban SECONDS_FOR_N WALL_MS FIRST_TO_LAST_MS" to $OUT
run_f2b() {
	local t0 t1 tl c=0 last=0
	f2b_start
	t0=$(ms)
	t1=
	while :; do
		c=$(f2b_count)
		if [ "$c" -gt 0 ] && [ -z "$t1" ]; then t1=$(ms); fi
		[ "$c" -ge "$NF" ] && break
		[ $(($(ms) - t0)) -lt 300000 ] || fail "fail2ban restored $c of $NF bans in 300 s"
		if [ "$c" != "$last" ]; then last=$c; fi
		sleep 0.02
	done
	tl=$(ms)
	f2b_stop
	# time for N at the rate from the first ban to the last
	echo "mix fail2ban $(((tl - t1) * N / (NF - 1))) $((tl - t0)) $((tl - t1))" >>"$OUT"
}

for r in $(seq 1 "$RUNS"); do
	run_nftjail mix "$STATE_MIX" restart
	[ -z "$F2B_VERSION" ] || run_f2b
	run_nftjail v6 "$STATE_V6"
	rig_note "run $r: $(tail -n 4 "$OUT" | tr '\n' ';')"
done

"$RIG_PY" - "$OUT" "$N" "$N4" "$N6" "$NF" "$JAILS" "${F2B_VERSION:-}" "${BENCH_JSON:-}" "$OVERRUNS" "$RUNS" "$NOT_LISTED" <<'PY'
import json, platform, statistics, sys
out, n, n4, n6, nf, jails, f2bv, dest, overruns, runs, not_listed = sys.argv[1:12]
n, n4, n6, nf = int(n), int(n4), int(n6), int(nf)
res = {"mix": {}, "v6": {}, "restart": {}}
wall = {"mix": {}, "v6": {}, "restart": {}}
f2b_span = []
for line in open(out):
    f = line.split()
    row, tool, ms, w = f[0], f[1], int(f[2]), int(f[3])
    res[row].setdefault(tool, []).append(round(ms / 1000, 3))
    wall[row].setdefault(tool, []).append(w)
    if tool == "fail2ban":
        f2b_span.append(int(f[4]))
med = lambda v: statistics.median(v) if v else 0
note = ("%s bans in the state (%s IPv4: the 768 documentation addresses in each of %s per-port jails, as many "
        "IPv4 bans as the documentation ranges allow with jails enough; %s IPv6 /64 of jail sshd), table loaded and empty; nftjail's figure is its own restore time from its log (table check, "
        "listing, state read, netlink batches acknowledged); from exec to that line: median %s ms"
        % (f"{n:,}", f"{n4:,}", jails, f"{n6:,}", med(wall["mix"].get("nftjail", []))))
note += ("; after %s of %d starts the restore's own notifications overran the daemon's nf_tables monitor socket "
         "and it listed the table again, after the figure was taken" % (overruns, 2 * int(runs)))
if f2bv and f2b_span:
    rate = (nf - 1) / (med(f2b_span) / 1000)
    note += ("; fail2ban-server %s, banaction nftables-multiport, restoring %d bans from its sqlite database at start "
             "(90%% IPv4): first to last ban in the kernel median %d ms, %.0f bans/s (start to last ban: median %d "
             "ms); its figure is the time for %s bans at the rate of each run: %.0f s extrapolated"
             % (f2bv, nf, med(f2b_span), rate, med(wall["mix"]["fail2ban"]), f"{n:,}", med(res["mix"]["fail2ban"])))
rows = [
    {"measure": "restore 100,000 bans into an empty table at start" if n == 100000 else "restore %d bans at start" % n,
     "unit": "s", "better": "lower", "target": 1, "target_text": "< 1 s", "results": res["mix"], "note": note},
    {"measure": "restore 100,000 IPv6 /64 per-port bans at start" if n == 100000 else "restore %d IPv6 bans at start" % n,
     "unit": "s", "better": "lower", "target": 1, "target_text": "< 1 s", "results": res["v6"],
     "note": "%s IPv6 /64 bans of jail sshd (port 22, set v6_port_64), table loaded and empty; from exec to the "
             "restored line: median %s ms; kernel %s" % (f"{n:,}", med(wall["v6"].get("nftjail", [])), platform.release())},
    {"measure": "restart with 100,000 bans in place" if n == 100000 else "restart with %d bans in place" % n,
     "unit": "s", "better": "lower", "target": None, "target_text": None, "results": res["restart"],
     "note": "the mixed state of the first row, started again after a clean stop, every element still in the "
             "kernel: the restore's own time from its log; from exec to that line: median %s ms; the sets were "
             "not listed (nothing changed since the clean stop) in %s of %s restarts. fail2ban removes its table "
             "when it stops, so its restart is its restore (first row)"
             % (med(wall["restart"].get("nftjail", [])), not_listed, runs)},
]
for r in rows:
    for t, v in r["results"].items():
        print("%-48s %-9s %s s" % (r["measure"], t, " ".join(str(x) for x in v)))
if dest:
    json.dump({"rows": rows}, open(dest, "w"), indent=2)
PY
