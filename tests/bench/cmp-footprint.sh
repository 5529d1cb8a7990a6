#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Comparison piece (tests/bench/compare.py runs every executable tests/bench/cmp-*): footprint and
# start-up of nftjaild against fail2ban-server (when installed), in the integration rig (private
# mount, network and cgroup namespaces, private journald; never the host's firewall or journal).
#
# Rows:
#   "RSS idle with 10 jails" (KiB)            VmRSS 1 s after the daemon is ready
#   "PSS idle with 10 jails" (KiB)            Pss of smaps_rollup then (target <= 4 MiB)
#   "anonymous memory idle with 10 jails"     RssAnon then (KiB, target <= 1 MiB)
#   "RSS per tracked failing address" (bytes)  RssAnon after N one-failure addresses minus idle, / N
#   "start to READY with 10 jails" (ms)        exec (tests/bench/exec-timed) to READY=1 on
#                                              NOTIFY_SOCKET (nftjaild); to the last "Jail '...'
#                                              started" log line (fail2ban); empty state directory
#   "restart to READY with 10 jails" (ms)      the same, started again on the state the first left
#   "start/restart CPU time with 10 jails" (ms) CPU time of the daemon's threads once it is ready
# The 10 jails read log files (temp files, fresh each run). With fail2ban installed they are 10 of
# its stock filters (nftjail's own sshd and recidive, and 8 filter files copied at run time from
# /etc/fail2ban/filter.d into a temp config dir, as an admin moving over would; never committed);
# without it, nftjail's shipped filters on different ports. Tools alternate run by run.
#
# Env: SRCDIR, NFTJAILD, BUILDDIR (for exec-timed; default: NFTJAILD's build), BENCH_RUNS (5), BENCH_QUICK=1 (fewer addresses), BENCH_JSON (output file);
# FOOTPRINT_NO_FAIL2BAN=1 runs nftjaild alone (same jails), for profiling; FOOTPRINT_SMAPS=DIR saves each
# daemon's /proc/PID/smaps at idle there (smaps.TOOL.RUN), to see which mappings the RSS is.
# Alone: sudo BENCH_JSON=/tmp/x.json SRCDIR=$PWD NFTJAILD=$PWD/build/src/daemon/nftjaild tests/bench/cmp-footprint.sh
# Exit: 0 done, 77 cannot run here (not root), other = error.
set -euo pipefail
. "$SRCDIR/tests/integration/lib.sh"
rig_enter "$@"

RUNS=${BENCH_RUNS:-5}
if [ "${BENCH_QUICK:-}" = 1 ]; then
	N_NFTJAIL=10000
	N_F2B=2000
else
	N_NFTJAIL=100000
	N_F2B=20000
fi
: "${BENCH_JSON:=$RIG_TMP/cmp-footprint.json}"
[ -x "${NFTJAILD:-}" ] || fail "NFTJAILD is not set to an executable"

# fail2ban: stock filters with a file logpath; the first two are nftjail's own filters
F2B_FILTERS=(sshd recidive nginx-http-auth postfix apache-auth proftpd pure-ftpd courier-auth exim named-refused)
OWN_FILTERS=(sshd proxmox recidive)
have_f2b=0
run_f2b=1
[ "${FOOTPRINT_NO_FAIL2BAN:-}" != 1 ] || run_f2b=0
if command -v fail2ban-server >/dev/null && [ -d /etc/fail2ban/filter.d ]; then
	have_f2b=1
	for f in "${F2B_FILTERS[@]}"; do
		[ -f "/etc/fail2ban/filter.d/$f.conf" ] || have_f2b=0
	done
fi

OUT=$RIG_TMP/footprint
mkdir -p "$OUT"
RESULTS=$OUT/results.txt # "tool measure value" lines
: >"$RESULTS"

# LAUNCH FILE PROGRAM ARGS...: writes the time of the exec to FILE, then runs PROGRAM in its place
EXEC_TIMED=${BUILDDIR:-$(dirname "$NFTJAILD")/..}/tests/bench/exec-timed
if [ -x "$EXEC_TIMED" ]; then
	LAUNCH=("$EXEC_TIMED")
	START_FROM="exec (tests/bench/exec-timed)"
else
	exec_from_bash() {
		local f=$1
		shift
		printf '%s 0\n' "$(now_us)" >"$f"
		exec "$@"
	}
	LAUNCH=(exec_from_bash)
	START_FROM="the fork of the benchmark's bash (exec-timed not built)"
fi
F2B_SERVER=$(command -v fail2ban-server || true)

# ---- nftjail configuration: 10 jails on log files

# jail_names: the 10 jails (name filter port) both tools run
jail_list() {
	local i
	if [ "$have_f2b" = 1 ]; then
		for i in "${!F2B_FILTERS[@]}"; do
			printf '%s %s %s\n' "${F2B_FILTERS[$i]}" "${F2B_FILTERS[$i]}" "$((1000 + i))"
		done
	else
		for i in $(seq 0 9); do
			printf 'j%d %s %d\n' "$i" "${OWN_FILTERS[$((i % 3))]}" "$((1000 + i))"
		done
	fi
}

# nftjail_conf DIR LOGDIR
nftjail_conf() {
	local dir=$1 logs=$2 name filter port f
	rm -rf "$dir"
	cp -a "$SRCDIR/conf" "$dir"
	mkdir -p "$dir/jail.d" "$dir/filter.d"
	printf '[Definition]\nnft_file = %s\n' "$RIG_NFT_FILE" >"$dir/nftjail.local"
	if [ "$have_f2b" = 1 ]; then
		# what an admin moving over copies: fail2ban's filter files, ours kept where we ship one
		for f in /etc/fail2ban/filter.d/*.conf; do
			[ -e "$dir/filter.d/${f##*/}" ] || cp "$f" "$dir/filter.d/"
		done
	fi
	while read -r name filter port; do
		: >"$logs/$name.log"
		printf '[%s]\nenabled = true\nfilter = %s\nbackend = auto\nlogpath = %s\nport = %s\nmaxretry = 5\nfindtime = 1h\nbantime = 1h\n\n' \
			"$name" "$filter" "$logs/$name.log" "$port"
	done < <(jail_list) >"$dir/jail.d/bench.local"
}

# f2b_conf DIR LOGDIR: a copy of /etc/fail2ban with its socket, pidfile, database and log in DIR
f2b_conf() {
	local dir=$1 logs=$2 name filter port
	rm -rf "$dir"
	cp -a /etc/fail2ban "$dir"
	rm -f "$dir"/jail.d/* "$dir"/fail2ban.d/* "$dir"/jail.local "$dir"/fail2ban.local
	cat >"$dir/fail2ban.local" <<-EOF
		[Definition]
		loglevel = INFO
		logtarget = $dir/fail2ban.log
		socket = $dir/fail2ban.sock
		pidfile = $dir/fail2ban.pid
		dbfile = $dir/fail2ban.sqlite3
	EOF
	{
		printf '[DEFAULT]\nbackend = auto\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\n'
		printf 'maxretry = 5\nfindtime = 1h\nbantime = 1h\nignoreself = false\n\n'
		while read -r name filter port; do
			: >"$logs/$name.log"
			printf '[%s]\nenabled = true\nfilter = %s\nlogpath = %s\nport = %s\n\n' \
				"$name" "$filter" "$logs/$name.log" "$port"
		done < <(jail_list)
	} >"$dir/jail.local"
}

# ---- helpers

kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# cpu_ms PID: CPU time (ms) of all of PID's threads so far, from schedstat (ns, unlike the
# clock-tick figures of /proc/PID/stat): the start-up's cost without the waiting, which the
# other benchmarks running on this machine inflate
cpu_ms() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { printf "%.2f", ns / 1e6 }'
}

now_us() { printf '%s\n' "${EPOCHREALTIME/[.,]/}"; }

# A datagram socket standing in for systemd's NOTIFY_SOCKET: writes the realtime (us) at which
# READY=1 arrived into FILE and the daemon's CPU time then (ms) into FILE.cpu, then exits; exits early when the PID written to FILE.pid is gone, or
# after 60 s. The caller waits for it to exit rather than polling FILE: a polling loop forks on the
# other core while the daemon starts, and made the start 13 ms slower here.
notify_listen() {
	local sock=$1 file=$2
	rm -f "$sock" "$file" "$file.bound" "$file.pid" "$file.cpu"
	"$RIG_PY" - "$sock" "$file" <<-'PY' &
		import os, socket, sys, time
		sock, out = sys.argv[1], sys.argv[2]
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(sock)
		open(out + ".bound", "w").close()
		s.settimeout(0.2)
		deadline = time.monotonic() + 60
		while True:
		    try:
		        msg = s.recv(4096)
		    except socket.timeout:
		        # the daemon's PID is in FILE.pid once started: give up when it is gone
		        try:
		            os.kill(int(open(out + ".pid").read()), 0)
		        except (FileNotFoundError, ValueError):
		            pass
		        except ProcessLookupError:
		            sys.exit(2)
		        if time.monotonic() > deadline:
		            sys.exit(1)
		        continue
		    if b"READY=1" in msg.split(b"\n"):
		        t = time.time_ns() // 1000
		        # the daemon's CPU time at READY (ms), before it does anything more
		        try:
		            pid = int(open(out + ".pid").read())
		            ns = 0
		            for task in os.listdir(f"/proc/{pid}/task"):
		                ns += int(open(f"/proc/{pid}/task/{task}/schedstat").read().split()[0])
		            with open(out + ".cpu", "w") as f:
		                f.write(f"{ns / 1e6:.2f}\n")
		        except (OSError, ValueError):
		            pass
		        with open(out + ".tmp", "w") as f:
		            f.write(f"{t}\n")
		        os.rename(out + ".tmp", out)
		        sys.exit(0)
	PY
	NOTIFY_PID=$!
	rig_wait_until 10 test -e "$file.bound"
}

# wait_sentinel_nftjail / f2b: 5 failures of 192.0.2.99 were appended after the bulk: when it is
# banned, every line before it was read
sentinel_lines() {
	local ts i
	ts=$(date '+%b %e %H:%M:%S')
	for i in 1 2 3 4 5; do
		printf '%s bastion sshd[%d]: Failed password for root from 192.0.2.99 port 4000%d ssh2\n' "$ts" "$((4000 + i))" "$i"
	done
}

# bulk_lines N: one failure each from N distinct IPv6 documentation addresses, timestamped now
bulk_lines() {
	"$RIG_PY" - "$1" "$(date '+%b %e %H:%M:%S')" <<-'PY'
		import sys
		n, ts = int(sys.argv[1]), sys.argv[2]
		w = sys.stdout.write
		for i in range(n):
		    w(f"{ts} bastion sshd[{1000 + i % 30000}]: Failed password for invalid user u{i % 97} from "
		      f"2001:db8:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}::1 port {1024 + i % 50000} ssh2\n")
	PY
}

# record_start TOOL KIND CPU_MS EXECFILE READY_US: KIND_ms (exec-timed's time in EXECFILE to
# READY_US) and KIND_cpu_ms (CPU_MS less the task's CPU time at its exec) into the results
record_start() {
	local tool=$1 kind=$2 cpu=$3 execfile=$4 tr=$5 ms
	ms=$(awk -v b="$tr" '{ printf "%.2f", (b - $1) / 1000 }' "$execfile")
	echo "$tool ${kind}_ms $ms" >>"$RESULTS"
	echo "$tool ${kind}_cpu_ms $(awk -v ms="$cpu" '{ printf "%.2f", ms - $2 / 1e6 }' "$execfile")" >>"$RESULTS"
	printf '# %s run %d: %s %s ms\n' "$tool" "$run" "$kind" "$ms" >&2
}

# measure TOOL RUN PID N LOGDIR STOP WAIT...: once the daemon PID is ready: its idle RSS; then N
# addresses into the first jail's log, and the sentinel; WAIT... (for rig_wait_until) says the
# sentinel was banned, so all was read; then STOP
measure() {
	local tool=$1 run=$2 pid=$3 n=$4 logs=$5 stop=$6 idle idle_anon anon first_jail
	shift 6
	sleep 1
	idle=$(kb "$pid" VmRSS)
	idle_anon=$(kb "$pid" RssAnon)
	echo "$tool idle_kib $idle" >>"$RESULTS"
	echo "$tool idle_pss_kib $(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup")" >>"$RESULTS"
	echo "$tool idle_anon_kib $idle_anon" >>"$RESULTS"
	[ -z "${FOOTPRINT_SMAPS:-}" ] || cp "/proc/$pid/smaps" "$FOOTPRINT_SMAPS/smaps.$tool.$run"

	first_jail=$(jail_list | awk 'NR == 1 { print $1 }')
	bulk_lines "$n" >>"$logs/$first_jail.log"
	sentinel_lines >>"$logs/$first_jail.log"
	rig_wait_until 600 "$@"
	anon=$(kb "$pid" RssAnon)
	echo "$tool per_addr_b $(awk -v a="$idle_anon" -v b="$anon" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }')" >>"$RESULTS"
	"$stop"
	printf '# %s run %d: idle %s KiB (anon %s), +%d addresses: anon %s KiB\n' \
		"$tool" "$run" "$idle" "$idle_anon" "$n" "$anon" >&2
}

# ---- one nftjail run: first start (timed), restart on its state (timed), idle RSS, N addresses

# nftjail_start DIR KIND: starts nftjaild on DIR's config and state; once it is ready, records
# KIND_ms (exec to READY=1) and KIND_cpu_ms; sets pid
nftjail_start() {
	local dir=$1 kind=$2
	notify_listen "$dir/notify.sock" "$dir/ready"
	rm -f "$dir/exec"
	NOTIFY_SOCKET=$dir/notify.sock "${LAUNCH[@]}" "$dir/exec" "$NFTJAILD" --foreground --config-dir "$dir/conf" \
		--state-dir "$dir/state" --socket "$dir/nftjail.sock" </dev/null >>"$RIG_TMP/daemon.log" 2>&1 &
	RIG_DAEMON_PID=$!
	pid=$RIG_DAEMON_PID
	echo "$pid" >"$dir/ready.pid"
	wait "$NOTIFY_PID" || true
	if ! test -s "$dir/ready"; then
		rig_daemon_alive || fail "nftjaild exited during start-up (see daemon.log)"
		fail "nftjaild sent no READY=1 within 60 s"
	fi
	[ -s "$dir/ready.cpu" ] || fail "the READY listener did not read nftjaild's CPU time"
	rig_daemon_alive || fail "nftjaild exited after READY=1 (see daemon.log)"
	record_start nftjail "$kind" "$(cat "$dir/ready.cpu")" "$dir/exec" "$(cat "$dir/ready")"
}

run_nftjail() {
	local run=$1 dir=$OUT/nftjail logs pid
	logs=$dir/logs
	rm -rf "$dir"
	mkdir -p "$logs" "$dir/state"
	nftjail_conf "$dir/conf" "$logs"
	# the admin's ruleset includes nft/nftjail.nft: the table is there when the daemon starts
	rig_nft delete table inet nftjail 2>/dev/null || true
	rig_nft_load
	nftjail_start "$dir" start
	rig_stop_daemon
	nftjail_start "$dir" restart
	measure nftjail "$run" "$pid" "$N_NFTJAIL" "$logs" rig_stop_daemon \
		rig_nft_has '^[a-z0-9_]+ 192\.0\.2\.99 '
}

# ---- one fail2ban run

F2B_PID=
f2b_stop() {
	[ -n "$F2B_PID" ] || return 0
	kill -TERM "$F2B_PID" 2>/dev/null || true
	rig_poll 30 _rig_pid_gone "$F2B_PID" || kill -KILL "$F2B_PID" 2>/dev/null || true
	wait "$F2B_PID" 2>/dev/null || true
	F2B_PID=
}
rig_on_exit f2b_stop

# f2b_started_us LOG N: realtime (us) of the N-th "Jail '...' started" line; fails if fewer
f2b_started_us() {
	"$RIG_PY" - "$1" "$2" <<-'PY'
		import re, sys, datetime
		n, times = int(sys.argv[2]), []
		for line in open(sys.argv[1], errors="replace"):
		    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*Jail '[^']+' started", line)
		    if m:
		        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp()
		        times.append(int(t * 1e6) + int(m.group(2)) * 1000)
		if len(times) < n:
		    sys.exit(1)
		print(max(times))
	PY
}

f2b_banned() {
	grep -q 'Ban 192\.0\.2\.99$' "$1"
}

# f2b_start_timed DIR KIND: as nftjail_start, for fail2ban-server (ready: its last "Jail '...' started"
# line, ms resolution; the log of an earlier start is moved aside first)
f2b_start_timed() {
	local dir=$1 kind=$2 n_jails
	n_jails=$(jail_list | wc -l)
	[ ! -e "$dir/conf/fail2ban.log" ] || mv "$dir/conf/fail2ban.log" "$dir/conf/fail2ban.log.1"
	rm -f "$dir/exec"
	"${LAUNCH[@]}" "$dir/exec" "$F2B_SERVER" -f -x -c "$dir/conf" -s "$dir/conf/fail2ban.sock" \
		-p "$dir/conf/fail2ban.pid" start </dev/null >>"$RIG_TMP/fail2ban.out" 2>&1 &
	F2B_PID=$!
	pid=$F2B_PID
	rig_poll 120 f2b_started_us "$dir/conf/fail2ban.log" "$n_jails" ||
		fail "fail2ban-server did not start $n_jails jails within 120 s (see $dir/conf/fail2ban.log)"
	record_start fail2ban "$kind" "$(cpu_ms "$pid")" "$dir/exec" "$(f2b_started_us "$dir/conf/fail2ban.log" "$n_jails")"
}

run_f2b() {
	local run=$1 dir=$OUT/f2b logs pid
	logs=$dir/logs
	rm -rf "$dir"
	mkdir -p "$logs"
	f2b_conf "$dir/conf" "$logs"
	f2b_start_timed "$dir" start
	f2b_stop
	f2b_start_timed "$dir" restart
	measure fail2ban "$run" "$pid" "$N_F2B" "$logs" f2b_stop f2b_banned "$dir/conf/fail2ban.log"
}

# ---- runs, alternating

for run in $(seq 1 "$RUNS"); do
	run_nftjail "$run"
	[ "$have_f2b" = 0 ] || [ "$run_f2b" = 0 ] || run_f2b "$run"
done

f2b_version=
[ "$have_f2b" = 0 ] || f2b_version=$(fail2ban-server -V 2>/dev/null | head -n 1)
"$RIG_PY" - "$RESULTS" "$BENCH_JSON" "$have_f2b" "$N_NFTJAIL" "$N_F2B" "$f2b_version" \
	"$(IFS=,; echo "${F2B_FILTERS[*]}")" "$START_FROM" <<'PY'
import json, sys
results, out, have_f2b, n_nj, n_f2b, f2b_version, filters, start_from = sys.argv[1:9]
vals = {}
for line in open(results):
    tool, measure, value = line.split()
    vals.setdefault(measure, {}).setdefault(tool, []).append(float(value))
if have_f2b == "1":
    jails = ("10 jails on log files, filters " + filters.replace(",", ", ") + " (sshd, recidive: nftjail's own; "
             "the others: fail2ban's filter files copied into nftjail's config dir at run time); "
             f"fail2ban-server {f2b_version} with backend polling, banaction nftables-multiport")
else:
    jails = "10 jails on log files from nftjail's shipped filters (sshd, proxmox, recidive) on different ports"
cond = "in the integration rig (private namespaces); nftjail's table loaded beforehand, as when the ruleset includes nftjail.nft"
rows = [
    {"measure": "RSS idle with 10 jails", "unit": "KiB", "better": "lower", "target": 5120,
     "target_text": "<= 5 MiB", "results": vals.get("idle_kib", {}),
     "note": f"VmRSS 1 s after ready; {jails}; {cond}"},
    {"measure": "PSS idle with 10 jails", "unit": "KiB", "better": "lower", "target": 4096,
     "target_text": "<= 4 MiB", "results": vals.get("idle_pss_kib", {}),
     "note": "Pss of /proc/PID/smaps_rollup in the same runs: shared library pages divided among the processes "
             "that map them, i.e. what the daemon adds to the host; in the rig few processes share them"},
    {"measure": "anonymous memory idle with 10 jails", "unit": "KiB", "better": "lower", "target": 1024,
     "target_text": "<= 1 MiB", "results": vals.get("idle_anon_kib", {}),
     "note": "RssAnon in the same runs: the daemon's own pages (heap, stacks, the written pages of its "
             "libraries), which no other process shares"},
    {"measure": "RSS per tracked failing address", "unit": "bytes", "better": "lower", "target": 128,
     "target_text": "<= 128 B", "results": vals.get("per_addr_b", {}),
     "note": f"RssAnon growth / addresses after one sshd failure each from distinct IPv6 addresses (maxretry 5) "
             f"appended to the sshd log file: nftjail {int(n_nj):,} addresses"
             + (f", fail2ban {int(n_f2b):,} (slower: fewer addresses)" if have_f2b == "1" else "")},
    {"measure": "start to READY with 10 jails", "unit": "ms", "better": "lower", "target": 20,
     "target_text": "<= 20 ms", "results": vals.get("start_ms", {}),
     "note": f"first start, on an empty state directory: from {start_from} to READY=1 on NOTIFY_SOCKET "
             "(nftjaild), to the last \"Jail '...' started\" log line (fail2ban-server, ms resolution); "
             f"fresh log files each run; {jails}"},
    {"measure": "restart to READY with 10 jails", "unit": "ms", "better": "lower", "target": 20,
     "target_text": "<= 20 ms", "results": vals.get("restart_ms", {}),
     "note": "the same, started again on the state the first start left (positions, database): a restart, a "
             "reboot or an upgrade; the same runs"},
    {"measure": "start CPU time with 10 jails", "unit": "ms", "better": "lower", "target": None,
     "target_text": None, "results": vals.get("start_cpu_ms", {}),
     "note": "CPU time of all the daemon's threads (/proc/PID/task/*/schedstat) when it is ready (nftjaild: read "
             "by the NOTIFY_SOCKET listener as READY=1 arrives; fail2ban: when its log line is seen, polled every "
             "50 ms): the start without the waiting, so less sensitive to a busy machine than the wall-clock row; "
             "first starts"},
    {"measure": "restart CPU time with 10 jails", "unit": "ms", "better": "lower", "target": None,
     "target_text": None, "results": vals.get("restart_cpu_ms", {}),
     "note": "the same for the restarts"},
]
with open(out, "w") as f:
    json.dump({"rows": rows}, f, indent=1)
for r in rows:
    print(f"{r['measure']} ({r['unit']}):")
    for tool, v in r["results"].items():
        s = sorted(v)
        print(f"  {tool:10s} min {s[0]:.1f} median {s[len(s) // 2]:.1f} max {s[-1]:.1f}")
PY
