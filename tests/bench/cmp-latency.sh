#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Comparison piece (tests/bench/compare.py runs it; usable alone):
#   sudo BENCH_JSON=/tmp/lat.json SRCDIR=$PWD BUILDDIR=$PWD/build NFTJAILD=build/nftjaild tests/bench/cmp-latency.sh
# Reaction time, nftjail against fail2ban-server when it is installed, in the integration rig
# (private journald, private nf_tables, tmpfs /var/log): journal entries/s into the daemon,
# failure -> ban in the kernel (p50, p99) from the journal and from a log file, and a burst of
# attackers reaching maxretry at once. Runs alternate tools run by run; each run starts the
# daemon afresh on an empty table, state and journal. The end of every time is the kernel's own
# notification of the new set element (nft-watch). Writes BENCH_JSON; never fails on time.
# fail2ban's configuration is built at run time from the installed /etc/fail2ban (never kept):
# banaction nftables-multiport, backend systemd (journal) and pyinotify (file), its socket,
# pidfile and database in the rig's tmpfs, its nft commands in the rig's network namespace.
# Time: about 30 s per nftjail run and 60 s per fail2ban run on a quiet 2-core VM (5 runs: ~7.5 min);
# fail2ban bans ~4 addresses/s here, so it gets 50 bans and 30 burst attackers (in the notes).
set -euo pipefail
. "$SRCDIR/tests/integration/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

: "${BUILDDIR:=$SRCDIR/build}"
: "${NFTJAILD:=$BUILDDIR/src/daemon/nftjaild}"
: "${BENCH_JSON:=/dev/stdout}"
RUNS=${BENCH_RUNS:-5}
WATCH=$BUILDDIR/tests/bench/nft-watch
DRIVER=$SRCDIR/tests/bench/cmp-latency-driver.py
[ -x "$WATCH" ] || fail "$WATCH is missing: build first"
MAXRETRY=5
LOG=/var/log/auth.log
SSH_CG=$RIG_CG/system.slice/ssh.service
mkdir -p "$SSH_CG"

# sizes: nftjail full; fail2ban (one nft process per ban, ~0.43 s) smaller, said in the notes
if [ "${BENCH_QUICK:-}" = 1 ]; then
	N_LAT=200 N_BURST=200 N_RATE=20000 F_LAT=10 F_BURST=20 F_RATE=2000
else
	N_LAT=${BENCH_BANS:-1000} N_BURST=1000 N_RATE=100000 F_LAT=50 F_BURST=30 F_RATE=3000
fi

tools=(nftjail)
F2B_VERSION=
if command -v fail2ban-server >/dev/null && [ -d /etc/fail2ban/action.d ] &&
	/usr/bin/python3 -c 'import systemd.journal, pyinotify' 2>/dev/null; then
	tools+=(fail2ban)
	F2B_VERSION=$(fail2ban-server --version 2>/dev/null | head -n 1 | awk '{print $NF}')
else
	rig_note "fail2ban-server (with python3-systemd and python3-pyinotify) not found: nftjail only"
fi
# BENCH_TOOLS / BENCH_PHASES (e.g. "lat-journal burst-file"): a subset, for a look by hand
[ -z "${BENCH_TOOLS:-}" ] || read -ra tools <<<"$BENCH_TOOLS"
PHASES=${BENCH_PHASES:-rate-journal lat-journal lat-file burst-journal burst-file}

# --- nftjail
rig_conf_dir
cat >"$RIG_CONF/jail.d/bench.local" <<CONF
[DEFAULT]
maxretry = $MAXRETRY
findtime = 1h
bantime = 1h

[sshd]
enabled = true

[sshd-file]
enabled = true
filter = sshd
port = ssh
backend = auto
logpath = $LOG
CONF

start_nftjail() {
	rm -rf "${RIG_STATE:?}"/*
	rig_start_daemon
}
stop_nftjail() {
	rig_stop_daemon
	nft delete table inet nftjail 2>/dev/null || true
}

# --- fail2ban
F2B=$RIG_TMP/f2b
. "$(dirname "$0")/f2b-lib.sh"
setup_fail2ban() {
	f2b_etc "$F2B/f2b.sqlite3"
	cat >"$F2B/etc/jail.local" <<CONF
[DEFAULT]
banaction = nftables-multiport
banaction_allports = nftables-allports
maxretry = $MAXRETRY
findtime = 1h
bantime = 1h

[sshd]
enabled = true
backend = systemd

[sshd-file]
enabled = true
filter = sshd
port = ssh
backend = pyinotify
logpath = $LOG
CONF
}
start_fail2ban() {
	rm -f "$F2B"/f2b.sqlite3
	f2b_start
	rig_wait_until 30 f2b_client status sshd-file
	rig_wait_until 30 f2b_client status sshd
}
stop_fail2ban() { f2b_stop; }
[ -z "$F2B_VERSION" ] || setup_fail2ban

# every run on an empty journal and log: nothing left from the runs before (fail2ban reads back
# findtime on start)
fresh_logs() {
	: >"$LOG"
	sleep 1.1
	journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
}

# drive TOOL PHASE SOURCE N ARGS...: one phase against a freshly started TOOL; prints the JSON
drive() {
	local tool=$1 phase=$2 source=$3 n=$4 out
	shift 4
	case " $PHASES " in
	*" $phase-$source "*) ;;
	*) return 0 ;;
	esac
	fresh_logs
	"start_$tool"
	out=$("$RIG_PY" "$DRIVER" --watch "$WATCH" --phase "$phase" --source "$source" -n "$n" \
		--maxretry "$MAXRETRY" --cgroup "$SSH_CG" --log "$LOG" "$@") || {
		"stop_$tool"
		fail "$tool $phase $source failed"
	}
	"stop_$tool"
	rig_note "$tool: $out"
	printf '%s\n' "$out" >>"$RIG_TMP/results-$tool"
}

for _ in $(seq 1 "$RUNS"); do
	for tool in "${tools[@]}"; do
		if [ "$tool" = nftjail ]; then
			nl=$N_LAT nb=$N_BURST nr=$N_RATE tmo=30
		else
			nl=$F_LAT nb=$F_BURST nr=$F_RATE tmo=300
		fi
		drive "$tool" rate journal "$nr" --timeout "$tmo"
		drive "$tool" lat journal "$nl" --timeout "$tmo"
		drive "$tool" lat file "$nl" --timeout "$tmo"
		drive "$tool" burst journal "$nb" --timeout "$tmo" --settle 2
		drive "$tool" burst file "$nb" --timeout "$tmo" --settle 2
	done
done

"$RIG_PY" - "$RIG_TMP" "$BENCH_JSON" "$MAXRETRY" "$F2B_VERSION" "$N_LAT" "$N_BURST" "$N_RATE" "$F_LAT" "$F_BURST" "$F_RATE" "${tools[@]}" <<'PY'
import json, sys
tmp, path, maxretry, f2bv = sys.argv[1:5]
n_lat, n_burst, n_rate, f_lat, f_burst, f_rate = map(int, sys.argv[5:11])
tools = sys.argv[11:]
res = {t: [json.loads(l) for l in open(f"{tmp}/results-{t}")] for t in tools}
scale = {"nftjail": 1, "fail2ban": n_burst / f_burst}
def col(t, phase, source, field, k=None):
    if k is None:
        k = scale[t] if phase == "burst" else 1
    return [round(r[field] * k, 3) for r in res[t] if r["phase"] == phase and r["source"] == source]
f2b = f"fail2ban-server {f2bv}, banaction nftables-multiport (one nft process per ban)"
pace = (f"attackers in groups of 5, each sending its {maxretry} failures 2 ms apart, interleaved; "
        f"the next group once the group is banned; 30% IPv6")
rows = []
def row(measure, unit, better, target, ttext, phase, source, field, note):
    rows.append({"measure": measure, "unit": unit, "better": better, "target": target, "target_text": ttext,
                 "results": {t: col(t, phase, source, field) for t in tools}, "note": note})
row("journal: entries/s into the daemon", "entries/s", "higher", None, None, "rate", "journal", "entries_per_s",
    f"{n_rate:,} sshd failures (distinct IPv6 addresses) sent to a private journald, then a sentinel's "
    f"{maxretry}: from the first write to the sentinel's ban in the kernel (journald's ingest included)"
    + (f"; {f2b}, backend systemd, on {f_rate:,} entries" if "fail2ban" in tools else ""))
for src, what in (("journal", "journal"), ("file", "file")):
    for pct, field in (("p50", "p50"), ("p99", "p99")):
        row(f"{what} failure -> ban in kernel, {pct}", "ms", "lower", 5 if pct == "p99" else None,
            "p99 <= 5 ms" if pct == "p99" else None, "lat", src, field,
            f"{n_lat:,} bans, maxretry {maxretry}: the {maxretry}th failure written -> the element's "
            f"NFNLGRP_NFTABLES notification; {pace}"
            + ("; nftjail reads the journal on a timer while entries flow (journald notifies readers "
               "250-500 ms late), so the first group after the start waits for that notification"
               if src == "journal" else "")
            + (f"; {f2b}, backend {'systemd' if src == 'journal' else 'pyinotify'}, on {f_lat} bans"
               if "fail2ban" in tools else ""))
    row(f"burst: 1,000 attackers reach maxretry at once -> all in kernel ({what})", "ms", "lower", 100,
        "<= 100 ms", "burst", src, "ms",
        f"{n_burst:,} attackers send {int(maxretry) - 1} failures each, then 2 s later their {maxretry}th back to "
        f"back: from the first of those writes until the last element is in the kernel"
        + (f"; {f2b}: measured on {f_burst} attackers (it bans one at a time), its figures are that "
           f"time x {n_burst // f_burst} (linear extrapolation): measured "
           + ", ".join("%.0f" % v for v in col("fail2ban", "burst", src, "ms", 1)) + " ms"
           if "fail2ban" in tools else ""))
with open(path, "w") as f:
    json.dump({"rows": rows}, f, indent=1)
    f.write("\n")
PY
