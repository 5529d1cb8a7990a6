#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Flood benchmark, in the integration rig: sshd failure lines from many distinct addresses,
# shuffled, through a log file and then through the private journald, while a legitimate user
# logs in, with `nftjail status` run every 20 ms throughout. Prints lines/s, the lag at the end
# (last line written -> last line's ban in the kernel), the daemon's peak RSS against the
# tracker's table at its bound, whether exactly the addresses that reached maxretry are in the
# kernel (and the legitimate one is not), and status latency p50/p99/max (each a CLI process:
# its start is included; the idle figure is printed first), and the daemon's own answer time on the
# socket (a status request from the poller, no process start). Never fails on a figure.
# Sizes: FLOOD_LINES/FLOOD_ADDRESSES (file: 5,000,000 / 1,000,000), FLOOD_J_LINES/FLOOD_J_ADDRESSES
# (journal: 1,000,000 / 200,000 by default: journald ingests a few ten thousand entries/s here);
# FLOOD_MODES="file journal". Addresses: see tests/integration/flood.py (IPv4 is capped at the
# 760 documentation hosts, the rest is 2001:db8::/32).
set -euo pipefail
. "$SRCDIR/tests/integration/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

M=5
LOG=/var/log/auth.log
FLOOD=$SRCDIR/tests/integration/flood.py
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # MODE LINES ADDRESSES
	local mode=$1 lines=$2 addrs=$3
	rig_conf_dir
	if [ "$mode" = file ]; then
		printf '[sshd]\nenabled = true\nbackend = auto\nlogpath = %s\nmaxretry = %d\nfindtime = 1h\nbantime = 1h\n' \
			"$LOG" "$M" >"$RIG_CONF/jail.d/bench.local"
		: >"$LOG"
	else
		printf '[sshd]\nenabled = true\nbackend = systemd\nmaxretry = %d\nfindtime = 1h\nbantime = 1h\n' \
			"$M" >"$RIG_CONF/jail.d/bench.local"
	fi
	rig_nft delete table inet nftjail 2>/dev/null || true
	rm -rf "$RIG_STATE" && mkdir -p "$RIG_STATE"
	rig_start_daemon
	local pid=$RIG_DAEMON_PID
	rm -f "$RIG_TMP/stop"
	"$RIG_PY" "$FLOOD" poll --cli "$NFTJAIL" --sock "$RIG_SOCK" --pid "$pid" --stop "$RIG_TMP/stop" --out "$RIG_TMP/poll" &
	local poller=$!
	sleep 1 # idle status latency first
	rig_wait_until 30 test -s "$RIG_TMP/poll" # the poller's first call may be slow on a loaded machine
	local idle_n
	idle_n=$(wc -l <"$RIG_TMP/poll")

	local t0 t1 t2
	t0=$(date +%s%N)
	if [ "$mode" = file ]; then
		"$RIG_PY" "$FLOOD" feed --mode file --out "$LOG" --lines "$lines" --addresses "$addrs" --maxretry "$M" \
			--seed 5 --expect "$RIG_TMP/expect" 2>"$RIG_TMP/feed.err"
	else
		# one logger in system.slice/ssh.service (uid 0), as rig_log_bulk, fed from a pipe
		local cg="$RIG_CG/system.slice/ssh.service" bin="$RIG_TMP/bin/sshd"
		mkdir -p "$cg" "$RIG_TMP/bin"
		[ -x "$bin" ] || cp "$(command -v logger)" "$bin"
		"$RIG_PY" "$FLOOD" feed --mode journal --lines "$lines" --addresses "$addrs" --maxretry "$M" \
			--seed 5 --expect "$RIG_TMP/expect" 2>"$RIG_TMP/feed.err" |
			(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$bin" -u /run/systemd/journal/dev-log -t sshd --id="$BASHPID")
	fi
	t1=$(date +%s%N)
	rig_wait_until 3600 rig_nft_has '^203\.0\.113\.254 tcp 22 ' v4_port
	t2=$(date +%s%N)
	touch "$RIG_TMP/stop"
	wait "$poller" || true
	local hwm
	hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$pid/status")
	rig_ctl status --json >"$RIG_TMP/status.json" 2>/dev/null || true
	rig_nft_elements >"$RIG_TMP/elements"
	rig_stop_daemon
	# FLOOD_KEEP=DIR: the daemon's log and the status samples, to look at stalls afterwards
	[ -z "${FLOOD_KEEP:-}" ] || cp "$RIG_TMP/daemon.log" "$FLOOD_KEEP/daemon-$mode.log"
	[ -z "${FLOOD_KEEP:-}" ] || cp "$RIG_TMP/poll" "$FLOOD_KEEP/poll-$mode.txt"

	echo "--- $mode: $lines failure lines, $addrs addresses, maxretry $M"
	awk -v n="$lines" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
		printf "  written in %.1f s; all read and the last ban in the kernel after %.1f s: %.0f lines/s end to end; lag at the end %.2f s\n",
			(t1 - t0) / 1e9, (t2 - t0) / 1e9, n / ((t2 - t0) / 1e9), (t2 - t1) / 1e9 }'
	# the tracker's table at its bound: 1,000,000 entries at most 80% full (a power of two), a
	# slot 20 bytes + 4 per maxretry; while it grows the old table is held too
	awk -v hwm="$hwm" -v m="$M" 'BEGIN { cap = 1; while (cap * 4 < 1000000 * 5) cap *= 2; t = cap * (20 + 4 * m) / 1048576;
		printf "  peak RSS (VmHWM, with the journal files sd-journal maps in journal mode) %.1f MiB; tracker table at its bound (1,000,000 entries): %.1f MiB (%.1f MiB while growing to it)\n",
			hwm / 1024, t, t * 1.5 }'
	printf '  kernel: %s\n' "$("$RIG_PY" "$FLOOD" check --expect "$RIG_TMP/expect" --elements "$RIG_TMP/elements" | head -3 | paste -sd ';')"
	"$RIG_PY" - "$RIG_TMP/poll" "$idle_n" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
idle_n = int(sys.argv[2])
def q(v, p):
    return v[min(len(v) - 1, int(p * len(v)))]
for name, part in (("idle", rows[:idle_n]), ("flood", rows[idle_n:])):
    ms = sorted(float(r[0]) for r in part)
    bad = sum(1 for r in part if r[2] != "0")
    if ms:
        print("  status (%s, %d calls, %d failed): p50 %.1f ms, p99 %.1f ms, max %.1f ms, over 100 ms: %d" % (
            name, len(ms), bad, q(ms, 0.5), q(ms, 0.99), ms[-1], sum(1 for x in ms if x > 100)))
    raw = sorted(float(r[5]) for r in part if len(r) > 5 and float(r[5]) >= 0)
    if raw:
        print("  status on the socket (%s, the daemon's answer without a process start): p50 %.1f ms, p99 %.1f ms, max %.1f ms, over 100 ms: %d" % (
            name, q(raw, 0.5), q(raw, 0.99), raw[-1], sum(1 for x in raw if x > 100)))
anon = [int(r[4]) for r in rows if len(r) > 4]
if anon:
    print("  anonymous RSS (the daemon's own memory), sampled with status: max %.1f MiB" % (max(anon) / 1024))
PY
}

for mode in ${FLOOD_MODES:-file journal}; do
	if [ "$mode" = file ]; then
		run file "${FLOOD_LINES:-5000000}" "${FLOOD_ADDRESSES:-1000000}"
	else
		run journal "${FLOOD_J_LINES:-1000000}" "${FLOOD_J_ADDRESSES:-200000}"
	fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
