#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# cmp-nft-rss: a piece of tests/bench/compare.py (env SRCDIR, NFTJAILD, BENCH_RUNS, BENCH_QUICK,
# BENCH_JSON). The daemon's memory while it holds many bans, in the integration rig.
#
# nftjail: nftjaild starts with a state holding N = 1,000,000 live bans (BENCH_QUICK: 100,000):
# IPv6 /64s of 2001:db8::/32 in jail sshd (port 22), one kernel element each (the documentation
# IPv4 ranges hold only 768 addresses). Once it has restored them all (its "start: restored"
# line, then 1 s to settle), RSS is read from /proc/PID/status (VmRSS; RssAnon, what the daemon
# allocated, in the note). The same with an empty state gives the base; bytes per ban =
# (RSS with N - RSS without) / N.
# fail2ban (when installed): fail2ban-server cannot be given a million bans here (it restores them
# one nft process at a time, about 10 bans/s on this machine: a day), so it holds NF = 300 bans
# (BENCH_QUICK: 30) restored from its sqlite database, banaction nftables-multiport, and only its
# bytes per ban is reported (from its RSS with NF bans and with none, both after start).
# Slow part: the start lists the sets (a dump of a hash set walks it from the start for each
# 32 KiB netlink message: slow at a million elements). The restore itself runs with the monitor
# out of the nf_tables group, so its own notifications no longer overrun it (persist.c); the
# settled() check below only matters for older builds.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"

# At most 2 runs of each: RSS hardly varies from run to run, and each start with a million bans
# is slow (see above), as is fail2ban's restore of NF bans.
RUNS=${BENCH_RUNS:-5}
# a start restoring a million bans takes longer than the rig's usual 15 s to READY
export RIG_READY_TIMEOUT=600
[ "$RUNS" -le 2 ] || RUNS=2
N=1000000
NF=300
F2B_RUNS=$RUNS
if [ "${BENCH_QUICK:-}" = 1 ]; then
	N=100000
	NF=30
fi
rig_tmpfs /var/log
: >/var/log/empty.log
OUT=$RIG_TMP/results
: >"$OUT"

# status_kib PID FIELD
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

rig_conf_dir
printf '[sshd]\nenabled = true\nport = 22\nbantime = 1h\n' >"$RIG_CONF/jail.d/bench.local"
STATE_0=$RIG_TMP/state-0
STATE_N=$RIG_TMP/state-n
for d in "$STATE_0" "$STATE_N"; do
	RIG_STATE=$d
	mkdir -p "$d"
	rig_nft_load
	rig_start_daemon
	rig_stop_daemon
	rig_nft delete table inet nftjail
done
now=$(date +%s)
sqlite3 "$STATE_N/nftjail.db" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT printf('2001:db8:%x:%x::1', i / 65536, i % 65536), 64, 'sshd', $now, $now + 7200, 5 FROM n;
COMMIT;"

# settled: the restore's own notifications may overrun the daemon's monitor socket, which then
# lists the table again ("ruleset changed: restored"); wait for that before stopping it
settled() {
	! grep -q 'overran the monitor socket' "$RIG_TMP/daemon.log" || grep -q '^ruleset changed: restored' "$RIG_TMP/daemon.log"
}

# run_nftjail STATE_DIR WANT: appends "nftjail BANS RSS_KIB ANON_KIB HWM_KIB" to $OUT
run_nftjail() {
	local n line pid
	RIG_STATE=$1
	rig_nft_load
	: >"$RIG_TMP/daemon.log"
	rig_start_daemon
	rig_wait_until 300 grep -q '^start: restored' "$RIG_TMP/daemon.log"
	rig_wait_until 1800 settled
	sleep 1
	line=$(grep '^start: restored' "$RIG_TMP/daemon.log" | tail -n 1)
	n=$(sed -n 's/^start: restored \([0-9]*\) bans.*/\1/p' <<<"$line")
	[ "$n" = "$2" ] || fail "restored $n bans, expected $2: $line"
	pid=$RIG_DAEMON_PID
	echo "nftjail $n $(status_kib "$pid" VmRSS) $(status_kib "$pid" RssAnon) $(status_kib "$pid" VmHWM)" >>"$OUT"
	rig_stop_daemon
	rig_nft delete table inet nftjail
}

# ---- fail2ban
F2B_VERSION=
if command -v fail2ban-server >/dev/null && [ -d /etc/fail2ban/action.d ] && [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
	F2B_VERSION=$(fail2ban-server --version 2>/dev/null | head -n 1 | awk '{print $NF}')
fi
. "$(dirname "$0")/f2b-lib.sh"
f2b_start_db() { # DBFILE
	sed -i "s|^dbfile = .*|dbfile = $1|" "$F2B/etc/fail2ban.local"
	f2b_start
}
f2b_banned() { # at least $1 bans in the kernel and in fail2ban's own count
	local c
	c=$(f2b_client status sshd 2>/dev/null | sed -n 's/.*Currently banned:[[:space:]]*\([0-9]*\).*/\1/p')
	[ "${c:-0}" -ge "$1" ]
}
if [ -n "$F2B_VERSION" ]; then
	f2b_etc "$F2B/f2b-0.sqlite3"
	f2b_sshd_jail 2h
	for db in f2b-0 f2b-n; do
		f2b_start_db "$F2B/$db.sqlite3"
		rig_wait_until 30 f2b_client status sshd
		f2b_stop
	done
	sqlite3 "$F2B/f2b-n.sqlite3" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $NF - 1)
INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data)
SELECT 'sshd', printf('2001:db8:%x:%x::1', i / 65536, i % 65536), $now, 7200, 1, '{}' FROM n;
INSERT INTO bips(ip, jail, timeofban, bantime, bancount, data) SELECT ip, jail, timeofban, bantime, bancount, data FROM bans;
COMMIT;"
fi

# run_f2b DB WANT: appends "fail2ban BANS RSS_KIB ANON_KIB HWM_KIB" to $OUT
run_f2b() {
	f2b_start_db "$F2B/$1.sqlite3"
	rig_wait_until 30 f2b_client status sshd
	[ "$2" = 0 ] || rig_wait_until 300 f2b_banned "$2"
	sleep 1
	echo "fail2ban $2 $(status_kib "$F2B_PID" VmRSS) $(status_kib "$F2B_PID" RssAnon) $(status_kib "$F2B_PID" VmHWM)" >>"$OUT"
	f2b_stop
}

for r in $(seq 1 "$RUNS"); do
	run_nftjail "$STATE_N" "$N"
	run_nftjail "$STATE_0" 0
	if [ -n "$F2B_VERSION" ] && [ "$r" -le "$F2B_RUNS" ]; then
		run_f2b f2b-n "$NF"
		run_f2b f2b-0 0
	fi
	rig_note "run $r: $(tail -n 4 "$OUT" | tr '\n' ';')"
done

"$RIG_PY" - "$OUT" "$N" "$NF" "${F2B_VERSION:-}" "${BENCH_JSON:-}" <<'PY'
import json, statistics, sys
out, n, nf, f2bv, dest = sys.argv[1:6]
n, nf = int(n), int(nf)
v = {}
for line in open(out):
    tool, bans, rss, anon, hwm = line.split()
    v.setdefault((tool, int(bans)), []).append((int(rss), int(anon), int(hwm)))
med = lambda xs: statistics.median(xs) if xs else 0
full = v.get(("nftjail", n), [])
base = v.get(("nftjail", 0), [])
rss_mib = [round(x[0] / 1024, 1) for x in full]
per_ban = {"nftjail": [round((a[0] - b[0]) * 1024 / n, 1) for a, b in zip(full, base)]}
note = ("nftjaild holding %s bans (IPv6 /64s, jail sshd, port 22, one element each) restored from its state at start, "
        "read 1 s after its restored line: VmRSS median %.1f MiB, of it anonymous (RssAnon) %.1f MiB, peak (VmHWM) "
        "%.1f MiB; with no ban %.1f MiB (anonymous %.1f MiB). The kernel's own memory for the elements is not in "
        "these figures." % (f"{n:,}", med([x[0] for x in full]) / 1024, med([x[1] for x in full]) / 1024,
                            med([x[2] for x in full]) / 1024, med([x[0] for x in base]) / 1024,
                            med([x[1] for x in base]) / 1024))
anon_per_ban = [round((a[1] - b[1]) * 1024 / n, 1) for a, b in zip(full, base)]
fnote = ""
if f2bv and ("fail2ban", nf) in v:
    fa, fb = v[("fail2ban", nf)], v.get(("fail2ban", 0), [])
    per_ban["fail2ban"] = [round((a[0] - b[0]) * 1024 / nf, 1) for a, b in zip(fa, fb)]
    fnote = ("; fail2ban-server %s could not be given %s bans (it restores one nft process per ban: at its rate here, "
             "about a day), so it holds %d bans restored from its sqlite database (banaction nftables-multiport): "
             "VmRSS median %.1f MiB with them, %.1f MiB without; per ban = the difference / %d, %d runs"
             % (f2bv, f"{n:,}", nf, med([x[0] for x in fa]) / 1024, med([x[0] for x in fb]) / 1024, nf, len(fa)))
rows = [
    {"measure": "RSS with 1,000,000 banned elements" if n == 1000000 else "RSS with %d banned elements" % n,
     "unit": "MiB", "better": "lower", "target": None, "target_text": "", "results": {"nftjail": rss_mib},
     "note": note + (" fail2ban-server: not measured at this count (see the bytes-per-ban row)." if f2bv else "")},
    {"measure": "RSS per banned element", "unit": "B", "better": "lower", "target": None, "target_text": "",
     "results": per_ban,
     "note": "nftjail: (VmRSS with %s bans - VmRSS with none) / %s; anonymous memory alone: median %.1f B per ban%s"
             % (f"{n:,}", f"{n:,}", med(anon_per_ban), fnote)},
]
for r in rows:
    for t, x in r["results"].items():
        print("%-36s %-9s %s %s" % (r["measure"], t, " ".join(str(y) for y in x), r["unit"]))
print(rows[0]["note"])
if dest:
    json.dump({"rows": rows}, open(dest, "w"), indent=2)
PY
