# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2030,SC2031,SC2015,SC2317,SC2034
# shellcheck shell=bash
#
# Integration test rig for nftjail. Source it from a tests/integration/test-*.sh
# script and call `rig_enter "$@"` first:
#
#   #!/bin/bash
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   rig_enter "$@"
#   ...
#
# rig_enter re-executes the script inside fresh mount, network and cgroup
# namespaces (unshare -m -n -C) with a tmpfs on /run and /var/log/journal and a
# private systemd-journald, so a test never touches the host's firewall or
# journal. Everything the rig starts is recorded by PID and stopped on exit.
#
# API (details above each function):
#   rig_enter "$@"                  namespaces, tmpfs /run, private journald; exit 77 if not root
#   fail MSG / skip MSG / rig_note MSG
#   rig_poll T CMD... / rig_wait_until T CMD...   bounded 50 ms polling (status / fail)
#   rig_on_exit CMD                 extra teardown
#   rig_log UNIT COMM [UID] MSG     line with trusted _SYSTEMD_UNIT/_COMM/_UID; RIG_LAST_LOG_PID
#   rig_log_untrusted TAG MSG [UID] forged line from plain logger, no unit
#   rig_journal_json [MATCH...] / rig_journal_has MATCH... / rig_journal_field PID FIELD
#   rig_host_mount_exec CMD...      read-only look at the host's files (isolation checks)
#   rig_tmpfs DIR                   a private tmpfs over DIR (e.g. /var/log for log-file tests)
#   rig_failures JAIL ADDR          failure events (MESSAGE_ID ...6b04) the daemon logged for ADDR
#   rig_failures_last JAIL ADDR     NFTJAIL_FAILURES (the running count) of the newest such event
#   rig_failures_ge JAIL ADDR N / rig_failures_last_ge JAIL ADDR N   status, for rig_wait_until
#   rig_file_caught_up JAIL PATH    the daemon's saved position in PATH is its size
#   rig_attacker_ns [A4] [A6] / rig_attacker_addr ADDR / rig_attacker_exec CMD...
#   rig_listen PORT... / rig_connect ADDR PORT [SRC]   (RIG_CONNECT_TIMEOUT, default 2 s)
#   rig_nft_load [FILE] / rig_nft ARGS... / rig_nft_elements [--counters] [SET] / rig_nft_has RE [SET]
#   rig_conf_dir / rig_start_daemon ARGS... / rig_stop_daemon [--any-status] / rig_kill_daemon
#   rig_daemon_alive / rig_ctl ARGS...
#   rig_need_sqlite / rig_sql QUERY  the sqlite3 CLI on the daemon's state ($RIG_STATE/nftjail.db)
# Variables: RIG_TMP (private tmpfs dir), RIG_STATE, RIG_SOCK, RIG_CONF, RIG_NFT_FILE,
#   RIG_DAEMON_PID, RIG_DAEMON_STATUS, RIG_TEST_ADDR4/6 (192.0.2.1, 2001:db8::1),
#   RIG_ATTACKER_ADDR4/6, RIG_LIBDIR, RIG_PY. Logs: $RIG_TMP/daemon.log, journald.log,
#   listen.log; dumped to stderr when the test fails.
#
# How journald attributes a line to a unit here (found on systemd 252 with a
# hybrid cgroup v1/v2 layout, and valid on a pure v2 host too):
#  - journald reads /proc/PID/cgroup of the sender (SCM_CREDENTIALS pid) while
#    it handles the datagram; if the sender has exited by then, _COMM,
#    _SYSTEMD_UNIT and friends are simply missing. So our loggers read the
#    message from a fifo and stay alive until the entry is in the journal.
#  - With /sys/fs/cgroup a tmpfs and cgroup2 on /sys/fs/cgroup/unified, systemd
#    treats the unified hierarchy as the systemd controller, so journald uses
#    the "0::" line, not name=systemd.
#  - journald strips its cgroup root (PID 1's cgroup, minus /init.scope) from the
#    path and takes the first component that is not a *.slice as the unit.
#  - Isolation: the outer process puts the test into a unique cgroup
#    (nftjail-rig-*) on the host's cgroup2 hierarchy, then unshare -C makes
#    that cgroup the namespace root. Inside, a tmpfs over /sys/fs/cgroup and a
#    fresh cgroup2 mount on /sys/fs/cgroup/unified show only our subtree
#    (mounting cgroup2 straight over the old mount point fails with EBUSY).
#    We create system.slice/UNIT there; /proc/PID/cgroup then reads
#    "0::/system.slice/UNIT" and journald gives _SYSTEMD_UNIT=UNIT. PID 1 reads
#    "0::/.." from inside, so nothing is stripped. The outer process removes
#    the host cgroup at the end.

# ---------------------------------------------------------------------------
# messages

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

rig_note() {
	printf '# %s\n' "$*" >&2
}

RIG_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SRCDIR:=$(cd "$RIG_LIBDIR/../.." && pwd)}"
if [ -x /usr/bin/python3 ]; then
	: "${RIG_PY:=/usr/bin/python3}"
else
	: "${RIG_PY:=python3}"
fi
RIG_ATTACKER_NS=rig-attacker
RIG_ATTACKER_IF=rig-a
RIG_TEST_IF=rig-t
RIG_TEST_ADDR4=192.0.2.1
RIG_TEST_ADDR6=2001:db8::1
RIG_PIDS=()
RIG_EXIT_HOOKS=()
RIG_DAEMON_PID=
RIG_JOURNALD_PID=

# ---------------------------------------------------------------------------
# small utilities

_rig_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s\n' "$((t / 1000))"
}

# rig_poll TIMEOUT_SEC CMD...: run CMD every 50 ms until it succeeds (return 0)
# or TIMEOUT_SEC has passed (return 1). Synchronisation only.
rig_poll() {
	local timeout=$1
	shift
	local deadline=$(( $(_rig_now_ms) + timeout * 1000 ))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(_rig_now_ms)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
}

# rig_wait_until TIMEOUT_SEC CMD...: like rig_poll, but fails the test (with the
# command and its last output) when the time runs out.
rig_wait_until() {
	local timeout=$1
	shift
	if rig_poll "$timeout" "$@"; then
		return 0
	fi
	local out
	out=$("$@" 2>&1) && return 0
	fail "timed out after ${timeout}s waiting for: $* (last output: ${out:-<none>})"
}

# rig_on_exit CMD...: run CMD (one string, eval'd) at exit, before the rig's own
# cleanup. For test-specific teardown.
rig_on_exit() {
	RIG_EXIT_HOOKS+=("$*")
}

_rig_track_pid() {
	RIG_PIDS+=("$1")
}

# Stop one of our PIDs: SIGTERM, bounded wait, then SIGKILL. Reaps it.
_rig_stop_pid() {
	local pid=$1 sig=${2:-TERM}
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill "-$sig" "$pid" 2>/dev/null || true
	if ! rig_poll 5 _rig_pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# A PID is gone when it no longer exists or is a zombie waiting for us to reap.
_rig_pid_gone() {
	local st
	[ -e "/proc/$1" ] || return 0
	st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	[ "$st" = Z ] || [ -z "$st" ]
}

# Refuse to do netfilter or journald work anywhere but inside the rig.
_rig_require_inside() {
	[ "${RIG_INSIDE:-}" = 1 ] || fail "$1: call rig_enter first"
	[ "$(readlink /proc/self/ns/net)" != "${RIG_HOST_NETNS:-}" ] ||
		fail "$1: still in the host network namespace, refusing"
	[ "$(readlink /proc/self/ns/mnt)" != "${RIG_HOST_MNTNS:-}" ] ||
		fail "$1: still in the host mount namespace, refusing"
}

_rig_fstype() {
	stat -f -c %T "$1" 2>/dev/null
}

# ---------------------------------------------------------------------------
# 1. entering the namespaces

_rig_cg2_root() {
	if [ "$(_rig_fstype /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	elif [ "$(_rig_fstype /sys/fs/cgroup/unified)" = cgroup2fs ]; then
		echo /sys/fs/cgroup/unified
	else
		return 1
	fi
}

# Kill (by PID) whatever is left in our own host cgroup, deepest first, then
# remove it. Only processes we started can be in there.
_rig_outer_cleanup() {
	local cg=$1 d pid
	set +e
	[ -d "$cg" ] || return 0
	for _ in $(seq 1 100); do
		local left=0
		while IFS= read -r d; do
			while IFS= read -r pid; do
				[ -n "$pid" ] || continue
				kill -KILL "$pid" 2>/dev/null && left=1
			done <"$d/cgroup.procs"
		done < <(find "$cg" -depth -type d 2>/dev/null)
		[ "$left" = 0 ] && break
		sleep 0.05
	done
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$cg" ] || printf 'rig: warning: could not remove cgroup %s\n' "$cg" >&2
}

_rig_outer() {
	local script=$1
	shift
	local tool
	for tool in unshare nsenter ip nft logger setpriv journalctl findmnt; do
		command -v "$tool" >/dev/null 2>&1 || fail "rig: '$tool' is missing"
	done
	"$RIG_PY" -c 'import json, socket, selectors' 2>/dev/null || fail "rig: python3 is missing"
	local journald
	for journald in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald ""; do
		[ -z "$journald" ] || [ -x "$journald" ] && break
	done
	[ -n "$journald" ] || fail "rig: systemd-journald binary not found"
	[ -s /etc/machine-id ] || fail "rig: /etc/machine-id is missing; journald needs it"
	[ -f /etc/systemd/journald.conf ] || fail "rig: /etc/systemd/journald.conf is missing (needed as a bind-mount target)"

	local cg2
	cg2=$(_rig_cg2_root) || fail "rig: no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified"
	RIG_HOST_CG="$cg2/nftjail-rig-$$-$RANDOM$RANDOM"
	mkdir "$RIG_HOST_CG" ||
		fail "rig: cannot create cgroup $RIG_HOST_CG (read-only cgroupfs, as in a container?); rig_log needs it"
	local child=
	trap '_rig_outer_term "$child"' TERM INT HUP
	trap '_rig_outer_cleanup "$RIG_HOST_CG"' EXIT

	(
		echo "$BASHPID" >"$RIG_HOST_CG/cgroup.procs" || exit 1
		export RIG_INSIDE=1 RIG_JOURNALD="$journald" RIG_HOST_CG RIG_OUTER_PID=$$
		RIG_HOST_NETNS=$(readlink /proc/self/ns/net)
		RIG_HOST_MNTNS=$(readlink /proc/self/ns/mnt)
		export RIG_HOST_NETNS RIG_HOST_MNTNS
		exec unshare -m -n -C --propagation private -- "$BASH" "$script" "$@"
	) &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	# wait returns >128 when interrupted by a trapped signal; the trap has run.
	exit "$rc"
}

_rig_outer_term() {
	local child=$1
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		rig_poll 10 _rig_pid_gone "$child" || kill -KILL "$child" 2>/dev/null || true
	fi
	exit 143
}

rig_enter() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "integration tests need root (namespaces, nf_tables, journald)"
	fi
	if [ "${RIG_INSIDE:-}" != 1 ]; then
		local script
		script=$(readlink -f "$0")
		_rig_outer "$script" "$@"
		exit 1 # not reached
	fi
	_rig_require_inside rig_enter
	trap '_rig_cleanup' EXIT
	trap 'exit 143' TERM INT HUP

	# Private /run (journal sockets, runtime journal, netns, our temp files),
	# /var/log/journal (persistent journal, hidden even though we run volatile)
	# and a tmpfs /sys/fs/cgroup with our own cgroup2 view.
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "rig: mount tmpfs on /run"
	if [ -d /var/log/journal ]; then
		mount -t tmpfs -o mode=2755,nosuid,nodev tmpfs /var/log/journal || fail "rig: mount tmpfs on /var/log/journal"
	else
		mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /var/log || fail "rig: mount tmpfs on /var/log"
		mkdir -p /var/log/journal
	fi
	mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup || fail "rig: mount tmpfs on /sys/fs/cgroup"
	mkdir /sys/fs/cgroup/unified
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified || fail "rig: mount cgroup2 in the cgroup namespace"
	RIG_CG=/sys/fs/cgroup/unified
	[ "$(_rig_fstype /run)" = tmpfs ] || fail "rig: /run is not our tmpfs"
	[ "$(_rig_fstype /var/log/journal)" = tmpfs ] || fail "rig: /var/log/journal is not our tmpfs"

	RIG_TMP=/run/nftjail-rig
	mkdir -p "$RIG_TMP/bin" "$RIG_TMP/state"
	chmod 0755 "$RIG_TMP" "$RIG_TMP/bin"
	RIG_STATE=$RIG_TMP/state
	RIG_SOCK=$RIG_TMP/nftjail.sock
	RIG_CONF=
	: "${RIG_NFT_FILE:=$SRCDIR/nft/nftjail.nft}"
	export RIG_TMP RIG_STATE RIG_SOCK RIG_CG SRCDIR

	ip link set lo up || fail "rig: cannot bring lo up"
	_rig_start_journald
}

# ---------------------------------------------------------------------------
# private journald

_rig_start_journald() {
	_rig_require_inside _rig_start_journald
	local conf=$RIG_TMP/journald.conf d
	cat >"$conf" <<-'EOF'
		[Journal]
		Storage=volatile
		ReadKMsg=no
		ForwardToSyslog=no
		ForwardToWall=no
		ForwardToConsole=no
		ForwardToKMsg=no
		RateLimitIntervalSec=0
		RateLimitBurst=0
	EOF
	mount --bind "$conf" /etc/systemd/journald.conf || fail "rig: bind-mount journald.conf"
	# Hide host drop-ins that could override Storage= and the Forward*= settings.
	for d in /etc/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d \
		/lib/systemd/journald.conf.d /usr/local/lib/systemd/journald.conf.d; do
		if [ -d "$d" ] && [ ! -L "$d" ]; then
			mount -t tmpfs -o mode=0755 tmpfs "$d" || fail "rig: hide $d"
		fi
	done

	# A datagram socket queues net.unix.max_dgram_qlen datagrams (read when the socket is made),
	# and a new network namespace starts at the kernel's 10: systemd's sysctl.d/50-default.conf
	# sets 512 on a host. Without it an 11th sender blocks in send() while journald is busy or
	# stopped, and a burst of senders that exit at once cannot be made here.
	sysctl -qw net.unix.max_dgram_qlen=512 || fail "rig: cannot set net.unix.max_dgram_qlen in our netns"
	# SYSTEMD_LOG_TARGET=console: journald's own messages go to our log file
	# instead of /dev/kmsg, which is not namespaced.
	SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info \
		"$RIG_JOURNALD" </dev/null >"$RIG_TMP/journald.log" 2>&1 &
	RIG_JOURNALD_PID=$!
	if ! rig_poll 10 _rig_journald_ready; then
		cat "$RIG_TMP/journald.log" >&2
		fail "rig: private journald did not create its sockets within 10 s"
	fi
	# journalctl in here must see only the private runtime journal.
	local paths
	paths=$(journalctl --header 2>/dev/null | sed -n 's/^File path: //p')
	[ -n "$paths" ] || fail "rig: journalctl sees no journal file"
	while IFS= read -r d; do
		case "$d" in
		/run/log/journal/*) ;;
		*) fail "rig: journalctl reads a journal outside the private /run: $d" ;;
		esac
	done <<<"$paths"
}

_rig_journald_ready() {
	kill -0 "$RIG_JOURNALD_PID" 2>/dev/null || return 1
	[ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/dev-log ] &&
		compgen -G '/run/log/journal/*/system.journal' >/dev/null
}

# ---------------------------------------------------------------------------
# 2. log lines

# Run a logger reading from a fifo so that it is still alive when journald
# looks it up in /proc; close the fifo once the entry is in the journal.
#   _rig_logger_run CGROUP_DIR_OR_EMPTY UID BINARY TAG MESSAGE
_rig_logger_run() {
	local cg=$1 uid=$2 bin=$3 tag=$4 msg=$5
	case "$msg" in
	*$'\n'*) fail "rig_log: message must be one line" ;;
	esac
	local fifo
	fifo=$(mktemp -u "$RIG_TMP/logfifo.XXXXXX")
	mkfifo -m 0600 "$fifo" || fail "rig_log: mkfifo"
	(
		if [ -n "$cg" ]; then
			echo "$BASHPID" >"$cg/cgroup.procs" || exit 90
		fi
		if [ "$uid" != 0 ]; then
			exec setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
				"$bin" -u /run/systemd/journal/dev-log -t "$tag" --id="$BASHPID" <"$fifo"
		fi
		exec "$bin" -u /run/systemd/journal/dev-log -t "$tag" --id="$BASHPID" <"$fifo"
	) &
	local pid=$! fd
	# O_RDWR never blocks on a fifo, even if the child died before opening it.
	exec {fd}<>"$fifo"
	printf '%s\n' "$msg" >&"$fd"
	local ok=0
	rig_poll 10 _rig_journal_has_pid "$pid" "$tag" && ok=1
	exec {fd}>&-
	rm -f "$fifo"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "rig_log: logger for '$tag' exited with status $rc"
	[ "$ok" = 1 ] || fail "rig_log: entry from ${tag}[${pid}] did not reach the journal within 10 s"
	RIG_LAST_LOG_PID=$pid
}

_rig_journal_has_pid() {
	[ -n "$(journalctl -q --no-pager -o cat "_PID=$1" "SYSLOG_IDENTIFIER=$2" 2>/dev/null)" ]
}

# rig_log UNIT COMM [UID] MESSAGE: log MESSAGE as "COMM[PID]: MESSAGE" from a
# process whose trusted journal fields are _SYSTEMD_UNIT=UNIT, _COMM=COMM and
# _UID=UID (default 0). Returns once the entry is in the journal (and checks
# that journald attributed it to UNIT). Sets RIG_LAST_LOG_PID.
rig_log() {
	_rig_require_inside rig_log
	local unit comm uid=0 msg
	case $# in
	3) unit=$1 comm=$2 msg=$3 ;;
	4) unit=$1 comm=$2 uid=$3 msg=$4 ;;
	*) fail "usage: rig_log UNIT COMM [UID] MESSAGE" ;;
	esac
	case "$unit" in
	*/* | "" | .*) fail "rig_log: bad unit name '$unit'" ;;
	esac
	case "$comm" in
	*/* | "" | .*) fail "rig_log: bad comm '$comm'" ;;
	esac
	[[ "$uid" =~ ^[0-9]+$ ]] || fail "rig_log: bad uid '$uid'"
	local cg="$RIG_CG/system.slice/$unit"
	mkdir -p "$cg" || fail "rig_log: cannot create cgroup $cg"
	local bin="$RIG_TMP/bin/$comm"
	if [ ! -x "$bin" ]; then
		cp "$(command -v logger)" "$bin" && chmod 0755 "$bin" || fail "rig_log: cannot copy logger to $bin"
	fi
	_rig_logger_run "$cg" "$uid" "$bin" "$comm" "$msg"
	[ -n "$(journalctl -q --no-pager -o cat "_PID=$RIG_LAST_LOG_PID" "_SYSTEMD_UNIT=$unit" 2>/dev/null)" ] ||
		fail "rig_log: journald did not attribute ${comm}[${RIG_LAST_LOG_PID}] to _SYSTEMD_UNIT=$unit"
}

# rig_log_bulk UNIT COMM FILE: send every line of FILE through one logger named COMM in
# system.slice/UNIT (uid 0), then a sentinel line; return once the sentinel is in the journal
# (journald handles a socket's datagrams in order, so every line before it is in too).
rig_log_bulk() {
	_rig_require_inside rig_log_bulk
	[ $# = 3 ] || fail "usage: rig_log_bulk UNIT COMM FILE"
	local unit=$1 comm=$2 file=$3
	local cg="$RIG_CG/system.slice/$unit" bin="$RIG_TMP/bin/$comm"
	local sentinel="nftjail-rig-bulk-end-$RANDOM$RANDOM"
	mkdir -p "$cg" || fail "rig_log_bulk: cannot create cgroup $cg"
	if [ ! -x "$bin" ]; then
		cp "$(command -v logger)" "$bin" && chmod 0755 "$bin" || fail "rig_log_bulk: cannot copy logger"
	fi
	local fifo
	fifo=$(mktemp -u "$RIG_TMP/bulkfifo.XXXXXX")
	mkfifo -m 0600 "$fifo" || fail "rig_log_bulk: mkfifo"
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 90
		exec "$bin" -u /run/systemd/journal/dev-log -t "$comm" --id="$BASHPID" <"$fifo"
	) &
	local pid=$! fd
	exec {fd}<>"$fifo"
	cat "$file" >&"$fd"
	printf '%s\n' "$sentinel" >&"$fd"
	# keep the logger alive (its /proc entry gives the trusted fields) until journald has it all
	rig_poll 120 rig_journal_has "MESSAGE=$sentinel" || fail "rig_log_bulk: the lines did not reach the journal within 120 s"
	exec {fd}>&-
	rm -f "$fifo"
	wait "$pid" || true
}

# rig_log_untrusted TAG MESSAGE [UID]: log "TAG[PID]: MESSAGE" with the plain
# /usr/bin/logger (_COMM=logger) from the test's own cgroup (no unit), as UID
# (default 0): a forged line that only claims to come from TAG.
rig_log_untrusted() {
	_rig_require_inside rig_log_untrusted
	[ $# = 2 ] || [ $# = 3 ] || fail "usage: rig_log_untrusted TAG MESSAGE [UID]"
	[[ "${3:-0}" =~ ^[0-9]+$ ]] || fail "rig_log_untrusted: bad uid '$3'"
	_rig_logger_run "" "${3:-0}" "$(command -v logger)" "$1" "$2"
}

# rig_journal_json [MATCH...]: the private journal as JSON lines.
rig_journal_json() {
	_rig_require_inside rig_journal_json
	journalctl -q --no-pager -o json "$@"
}

# rig_journal_has MATCH...: status 0 if the private journal holds an entry for
# the journalctl MATCHes (FIELD=VALUE, "+" for OR). Usable with rig_wait_until,
# e.g. rig_wait_until 10 rig_journal_has MESSAGE_ID=... NFTJAIL_ADDR=192.0.2.66
rig_journal_has() {
	_rig_require_inside rig_journal_has
	[ -n "$(journalctl -q --no-pager -o cat "$@" 2>/dev/null)" ]
}

# rig_journal_field PID FIELD: print FIELD of the (last) entry logged by PID.
rig_journal_field() {
	rig_journal_json "_PID=$1" | "$RIG_PY" -c '
import json, sys
val = None
for line in sys.stdin:
    e = json.loads(line)
    if sys.argv[1] in e:
        val = e[sys.argv[1]]
if val is None:
    sys.exit(1)
print(val if isinstance(val, str) else json.dumps(val))
' "$2"
}

# ---------------------------------------------------------------------------
# 3. attacker namespace, listeners, connections

# rig_attacker_ns [ADDR4] [ADDR6]: a network namespace joined by a veth pair;
# test side 192.0.2.1/24 and 2001:db8::1/64, attacker side ADDR4/24 and
# ADDR6/64 (default 192.0.2.66, 2001:db8::66).
rig_attacker_ns() {
	_rig_require_inside rig_attacker_ns
	RIG_ATTACKER_ADDR4=${1:-192.0.2.66}
	RIG_ATTACKER_ADDR6=${2:-2001:db8::66}
	ip netns add "$RIG_ATTACKER_NS" || fail "rig: ip netns add"
	ip link add "$RIG_TEST_IF" type veth peer name "$RIG_ATTACKER_IF" netns "$RIG_ATTACKER_NS" ||
		fail "rig: cannot create veth pair"
	ip addr add "$RIG_TEST_ADDR4/24" dev "$RIG_TEST_IF" &&
		ip addr add "$RIG_TEST_ADDR6/64" dev "$RIG_TEST_IF" nodad &&
		ip link set "$RIG_TEST_IF" up || fail "rig: cannot configure $RIG_TEST_IF"
	rig_attacker_exec ip link set lo up &&
		rig_attacker_exec ip addr add "$RIG_ATTACKER_ADDR4/24" dev "$RIG_ATTACKER_IF" &&
		rig_attacker_exec ip addr add "$RIG_ATTACKER_ADDR6/64" dev "$RIG_ATTACKER_IF" nodad &&
		rig_attacker_exec ip link set "$RIG_ATTACKER_IF" up || fail "rig: cannot configure attacker side"
	# Carrier on both ends and no tentative IPv6 address left (nodad), so the
	# first connection attempt does not race the link coming up.
	rig_wait_until 10 _rig_link_ready "$RIG_TEST_IF"
	rig_wait_until 10 rig_attacker_exec bash -c "$(declare -f _rig_link_ready); _rig_link_ready $RIG_ATTACKER_IF"
}

_rig_link_ready() {
	ip -o link show dev "$1" | grep -q 'LOWER_UP' || return 1
	! ip -o addr show dev "$1" | grep -q tentative
}

# rig_attacker_addr ADDR: one more source address on the attacker side
# (IPv4 in 192.0.2.0/24 or IPv6 in 2001:db8::/64), for several attackers.
rig_attacker_addr() {
	_rig_require_inside rig_attacker_addr
	case "$1" in
	*:*) rig_attacker_exec ip addr add "$1/64" dev "$RIG_ATTACKER_IF" nodad ;;
	*) rig_attacker_exec ip addr add "$1/24" dev "$RIG_ATTACKER_IF" ;;
	esac || fail "rig: cannot add $1 to the attacker"
}

# rig_attacker_exec CMD...: run CMD in the attacker's network namespace.
rig_attacker_exec() {
	_rig_require_inside rig_attacker_exec
	nsenter --net="/run/netns/$RIG_ATTACKER_NS" -- "$@"
}

# rig_listen PORT...: TCP listeners (IPv4 and IPv6, all addresses) in the test
# namespace that accept and close connections. Returns once they listen.
rig_listen() {
	_rig_require_inside rig_listen
	[ $# -ge 1 ] || fail "usage: rig_listen PORT..."
	local ready
	ready=$(mktemp -u "$RIG_TMP/listen-ready.XXXXXX")
	"$RIG_PY" "$RIG_LIBDIR/rig_listen.py" --ready "$ready" "$@" </dev/null >>"$RIG_TMP/listen.log" 2>&1 &
	local pid=$!
	_rig_track_pid "$pid"
	if ! rig_poll 10 test -e "$ready"; then
		cat "$RIG_TMP/listen.log" >&2
		fail "rig_listen: listeners on $* not ready within 10 s"
	fi
	RIG_LAST_LISTEN_PID=$pid
}

# rig_connect ADDR PORT [SRC]: from the attacker namespace, exit 0 if a TCP
# connection to ADDR:PORT is established within RIG_CONNECT_TIMEOUT seconds
# (default 2), 1 if not. SRC picks the attacker's source address.
rig_connect() {
	_rig_require_inside rig_connect
	[ $# -ge 2 ] || fail "usage: rig_connect ADDR PORT [SRC]"
	rig_attacker_exec "$RIG_PY" - "$1" "$2" "${RIG_CONNECT_TIMEOUT:-2}" "${3:-}" <<-'EOF'
		import socket, sys
		addr, port, timeout, src = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
		fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
		s = socket.socket(fam, socket.SOCK_STREAM)
		s.settimeout(timeout)
		try:
		    if src:
		        s.bind((src, 0))
		    s.connect((addr, port))
		except OSError:
		    sys.exit(1)
		s.close()
	EOF
}

# ---------------------------------------------------------------------------
# 4. nftables

# rig_nft_load [FILE]: load FILE (default $RIG_NFT_FILE = $SRCDIR/nft/nftjail.nft)
# into the test namespace's nf_tables.
rig_nft_load() {
	_rig_require_inside rig_nft_load
	local f=${1:-$RIG_NFT_FILE}
	[ -s "$f" ] || fail "rig_nft_load: $f is missing or empty"
	nft -f "$f" || fail "rig_nft_load: nft -f $f failed"
}

# rig_nft_elements [SET]: elements of table inet nftjail, one per line:
#   "addr proto port timeout expires comment" (with SET), or the same prefixed
#   with the set name (without). Missing fields print as "-".
rig_nft_elements() {
	_rig_require_inside rig_nft_elements
	"$RIG_PY" "$RIG_LIBDIR/nftq.py" "$@"
}

# rig_nft_has REGEX [SET]: status 0 if an element line (see rig_nft_elements)
# matches the extended REGEX. Usable with rig_wait_until.
rig_nft_has() {
	_rig_require_inside rig_nft_has
	[ $# -ge 1 ] || fail "usage: rig_nft_has REGEX [SET]"
	local re=$1
	shift
	# read all of it first: grep -q exits at the first match, and the writer's SIGPIPE would make
	# the pipeline fail under pipefail (a false "not banned")
	local out
	out=$(rig_nft_elements "$@" 2>/dev/null) || return 1
	grep -Eq -- "$re" <<<"$out"
}

# rig_nft ARGS...: nft in the test namespace (never the host's ruleset).
rig_nft() {
	_rig_require_inside rig_nft
	nft "$@"
}

# rig_host_mount_exec CMD...: run CMD in the host's mount namespace (still in
# the test's network namespace), for read-only checks that the host was not
# touched, e.g. its journal directories. Never use it to change anything.
rig_host_mount_exec() {
	_rig_require_inside rig_host_mount_exec
	[ -n "${RIG_OUTER_PID:-}" ] || fail "rig_host_mount_exec: unknown outer PID"
	nsenter --mount="/proc/$RIG_OUTER_PID/ns/mnt" -- "$@"
}

# rig_tmpfs DIR: mount a fresh tmpfs over DIR in our private mount namespace
# (tests that write log files use /var/log: the host's stays untouched).
rig_tmpfs() {
	_rig_require_inside rig_tmpfs
	mkdir -p "$1"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$1" || fail "rig_tmpfs: mount tmpfs on $1"
	[ "$(_rig_fstype "$1")" = tmpfs ] || fail "rig_tmpfs: $1 is not our tmpfs"
}

# rig_failures JAIL ADDR: how many failure events the daemon logged for ADDR in
# JAIL (start it with --log-target journal). The rate limit drops events beyond
# 50/s per jail. MESSAGE is read ("JAIL: found ADDR (N/MAX)"); the private
# journal is small, reading it whole is fast.
rig_failures() {
	journalctl -q --no-pager -o cat 2>/dev/null |
		grep -cF "$1: found $2 (" || true
}

# rig_failures_last JAIL ADDR: the running count N of the newest failure event
# of ADDR; 0 when there is none. Exact even when the rate limit dropped events
# before it.
rig_failures_last() {
	local v
	v=$(journalctl -q --no-pager -o cat 2>/dev/null |
		grep -F "$1: found $2 (" | tail -n 1 | sed -n 's/.*(\([0-9]*\)\/[0-9]*)$/\1/p')
	printf '%s\n' "${v:-0}"
}

# rig_failures_ge JAIL ADDR N, rig_failures_last_ge JAIL ADDR N: status 0 when
# the count is at least N. For rig_wait_until, which runs its command again
# each time (a "$(rig_failures ...)" argument would be expanded only once).
rig_failures_ge() {
	[ "$(rig_failures "$1" "$2")" -ge "$3" ]
}
rig_failures_last_ge() {
	[ "$(rig_failures_last "$1" "$2")" -ge "$3" ]
}

# rig_need_sqlite: skip the test when the sqlite3 CLI is missing. rig_sql QUERY: runs QUERY on
# the daemon's state, rows on stdout.
rig_need_sqlite() {
	command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
}
rig_sql() {
	sqlite3 -batch -noheader "$RIG_STATE/nftjail.db" "$1"
}

# rig_file_caught_up JAIL PATH: true when the position the daemon saved for
# PATH (table positions of $RIG_STATE/nftjail.db, or $RIG_STATE/positions-JAIL.json
# without a state) is the size of PATH: it read it all.
rig_file_caught_up() {
	"$RIG_PY" - "$RIG_STATE" "$1" "$2" <<'PY'
import json, os, sqlite3, sys
state, jail, path = sys.argv[1:4]
text = None
try:
    db = sqlite3.connect(f"file:{state}/nftjail.db?mode=ro", uri=True, timeout=2)
    row = db.execute("select data from positions where jail = ? and source = 'files'", (jail,)).fetchone()
    text = row[0] if row else None
except sqlite3.Error:
    pass
try:
    files = json.loads(text if text is not None else open(f"{state}/positions-{jail}.json").read())["files"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
st = os.stat(path)
sys.exit(0 if any(f["path"] == path and f["inode"] == st.st_ino and f["offset"] == st.st_size
                  for f in files) else 1)
PY
}

# ---------------------------------------------------------------------------
# 6. the daemon

# rig_conf_dir: $RIG_CONF = a copy of $SRCDIR/conf plus nftjail.local pointing
# nft_file at $RIG_NFT_FILE. Tests add jail.d/*.local, filter.d/*.local etc.
rig_conf_dir() {
	_rig_require_inside rig_conf_dir
	RIG_CONF=$RIG_TMP/conf
	rm -rf "$RIG_CONF"
	mkdir -p "$RIG_CONF"
	if [ -d "$SRCDIR/conf" ]; then
		cp -a "$SRCDIR/conf/." "$RIG_CONF/" || fail "rig_conf_dir: cannot copy $SRCDIR/conf"
	fi
	mkdir -p "$RIG_CONF/jail.d" "$RIG_CONF/filter.d"
	printf '[Definition]\nnft_file = %s\n' "$RIG_NFT_FILE" >"$RIG_CONF/nftjail.local"
	export RIG_CONF
}

# rig_start_daemon ARGS...: start $NFTJAILD in the foreground mode in the
# background (stdout and stderr to $RIG_TMP/daemon.log), record its PID in
# RIG_DAEMON_PID and wait (bounded) until its control socket exists. Set
# RIG_DAEMON_WAIT=0 to skip the wait; RIG_READY_TIMEOUT (seconds, default 15) bounds it.
rig_start_daemon() {
	_rig_require_inside rig_start_daemon
	[ -n "${NFTJAILD:-}" ] && [ -x "$NFTJAILD" ] || fail "rig_start_daemon: NFTJAILD is not set to an executable"
	if [ -n "$RIG_DAEMON_PID" ] && kill -0 "$RIG_DAEMON_PID" 2>/dev/null; then
		fail "rig_start_daemon: daemon already running (pid $RIG_DAEMON_PID)"
	fi
	[ -n "${RIG_CONF:-}" ] || rig_conf_dir
	rm -f "$RIG_SOCK"
	printf -- '--- rig: starting %s %s\n' "$NFTJAILD" "$*" >>"$RIG_TMP/daemon.log"
	RIG_DAEMON_LOG_START=$(wc -l <"$RIG_TMP/daemon.log")
	"$NFTJAILD" --foreground --config-dir "$RIG_CONF" --state-dir "$RIG_STATE" \
		--socket "$RIG_SOCK" "$@" </dev/null >>"$RIG_TMP/daemon.log" 2>&1 &
	RIG_DAEMON_PID=$!
	if [ "${RIG_DAEMON_WAIT:-1}" != 0 ]; then
		if ! rig_poll "${RIG_READY_TIMEOUT:-15}" _rig_daemon_ready; then
			_rig_dump daemon.log
			kill -0 "$RIG_DAEMON_PID" 2>/dev/null ||
				fail "rig_start_daemon: nftjaild exited during start-up"
			fail "rig_start_daemon: nftjaild was not ready within ${RIG_READY_TIMEOUT:-15} s"
		fi
	fi
}

# Ready = the control socket exists, or the daemon said it started (it opens its
# journal sources before it says so, so entries written from then on are seen).
_rig_daemon_ready() {
	kill -0 "$RIG_DAEMON_PID" 2>/dev/null || return 0 # let the caller see it died
	[ -S "$RIG_SOCK" ] ||
		tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -q "^nftjaild .* started" ||
		[ -n "$(journalctl -q --no-pager -o cat "_PID=$RIG_DAEMON_PID" \
			MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b05 2>/dev/null)" ]
}

rig_daemon_alive() {
	[ -n "$RIG_DAEMON_PID" ] && ! _rig_pid_gone "$RIG_DAEMON_PID"
}

# rig_stop_daemon [--any-status]: SIGTERM, wait (bounded), reap. Fails unless it
# exits with status 0 (sanitizer reports make it non-zero), or with any status
# given --any-status. Sets RIG_DAEMON_STATUS.
rig_stop_daemon() {
	[ -n "$RIG_DAEMON_PID" ] || fail "rig_stop_daemon: no daemon started"
	local pid=$RIG_DAEMON_PID
	kill -TERM "$pid" 2>/dev/null || true
	if ! rig_poll 15 _rig_pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		RIG_DAEMON_PID=
		_rig_dump daemon.log
		fail "rig_stop_daemon: nftjaild did not exit within 15 s of SIGTERM"
	fi
	RIG_DAEMON_STATUS=0
	wait "$pid" || RIG_DAEMON_STATUS=$?
	RIG_DAEMON_PID=
	if [ "${1:-}" != --any-status ] && [ "$RIG_DAEMON_STATUS" != 0 ]; then
		_rig_dump daemon.log
		fail "rig_stop_daemon: nftjaild exited with status $RIG_DAEMON_STATUS"
	fi
}

# rig_kill_daemon: SIGKILL (a crash), reap.
rig_kill_daemon() {
	[ -n "$RIG_DAEMON_PID" ] || fail "rig_kill_daemon: no daemon started"
	kill -KILL "$RIG_DAEMON_PID" 2>/dev/null || true
	wait "$RIG_DAEMON_PID" 2>/dev/null || true
	RIG_DAEMON_PID=
}

# rig_ctl ARGS...: the CLI against the test daemon's socket.
rig_ctl() {
	[ -n "${NFTJAIL:-}" ] && [ -x "$NFTJAIL" ] || fail "rig_ctl: NFTJAIL is not set to an executable"
	"$NFTJAIL" --socket "$RIG_SOCK" "$@"
}

# rig_status_replies JAIL N SECONDS: ask `nftjail --json status` in a loop, as an admin would, and
# print one line per reply: the jail's failures_total and bans_total ("error RC" when the command
# failed). Stops at the first reply with N bans or more, or after SECONDS.
rig_status_replies() {
	[ $# = 3 ] || fail "usage: rig_status_replies JAIL N SECONDS"
	[ -n "${NFTJAIL:-}" ] && [ -x "$NFTJAIL" ] || fail "rig_status_replies: NFTJAIL is not set to an executable"
	"$RIG_PY" - "$NFTJAIL" "$RIG_SOCK" "$@" <<'PY'
import json, subprocess, sys, time
cli, sock, jail, n, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    p = subprocess.run([cli, "--socket", sock, "--json", "status"], capture_output=True, text=True)
    if p.returncode != 0:
        print("error %d" % p.returncode, flush=True)
        continue
    j = [x for x in json.loads(p.stdout)["jails"] if x["name"] == jail][0]
    print(j["failures_total"], j["bans_total"], flush=True)
    if j["bans_total"] >= n:
        break
PY
}

# ---------------------------------------------------------------------------
# 7. cleanup

_rig_dump() {
	local f="$RIG_TMP/$1"
	[ -s "$f" ] || return 0
	printf -- '----- %s (last 100 lines) -----\n' "$1" >&2
	tail -n 100 "$f" >&2
	printf -- '----- end of %s -----\n' "$1" >&2
}

_rig_cleanup() {
	local rc=$? h pid
	set +e
	trap - EXIT TERM INT HUP
	for h in "${RIG_EXIT_HOOKS[@]}"; do
		eval "$h"
	done
	if [ -n "$RIG_DAEMON_PID" ]; then
		_rig_stop_pid "$RIG_DAEMON_PID" TERM
		RIG_DAEMON_PID=
	fi
	for pid in "${RIG_PIDS[@]}"; do
		_rig_stop_pid "$pid" TERM
	done
	if [ "$rc" != 0 ] && [ -n "${RIG_TMP:-}" ]; then
		_rig_dump daemon.log
		_rig_dump listen.log
		if [ -n "$RIG_JOURNALD_PID" ]; then
			printf -- '----- private journal (last 30 entries) -----\n' >&2
			journalctl -q --no-pager -n 30 -o short-monotonic >&2
		fi
		_rig_dump journald.log
	fi
	if [ -n "$RIG_JOURNALD_PID" ]; then
		_rig_stop_pid "$RIG_JOURNALD_PID" TERM
		RIG_JOURNALD_PID=
	fi
	exit "$rc"
}
