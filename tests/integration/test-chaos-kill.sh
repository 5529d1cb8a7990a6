#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Chaos: failures from 1,000 addresses arrive in bursts while the daemon is killed with SIGKILL at
# random moments and restarted, 20 times. What must hold:
#  - no ban is lost across kills: every ban the daemon announced is in the kernel and in the state
#    at the end, and the kernel and the state agree (a ban acked by the kernel but killed before
#    its commit is adopted at the next start);
#  - no ban is counted twice: one state row per banned address.
# Lines logged while the daemon is down, and failures read but not yet flushed at the kill, are
# lost: the journal position is not persisted with the failure counts (source-journal starts at
# the tail). So a last lifetime without kills sends one failure for every address again; then the
# result must equal a run without kills: 1,000 bans, one row each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
DB=$RIG_STATE/nftjail.db

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 1
bantime = -1
ipv6_prefix = 128
CONF
rig_nft_load

# 768 IPv4 and 232 IPv6 documentation addresses
addrs=()
for net in 192.0.2 198.51.100 203.0.113; do for i in $(seq 0 255); do addrs+=("$net.$i"); done; done
for i in $(seq 1 232); do addrs+=("2001:db8::1:$(printf %x "$i")"); done
[ ${#addrs[@]} = 1000 ] || fail "expected 1000 addresses"

# one long-lived "sshd" (a copy of logger) in ssh.service, fed through a fifo: fast, and alive
# whenever journald looks up its unit
mkdir -p "$RIG_CG/system.slice/ssh.service"
cp "$(command -v logger)" "$RIG_TMP/bin/sshd"
mkfifo "$RIG_TMP/chaos.fifo"
(
	echo "$BASHPID" >"$RIG_CG/system.slice/ssh.service/cgroup.procs"
	exec "$RIG_TMP/bin/sshd" -u /run/systemd/journal/dev-log -t sshd --id="$BASHPID" <"$RIG_TMP/chaos.fifo"
) &
LOGGER_PID=$!
rig_on_exit "kill $LOGGER_PID 2>/dev/null || true"
exec {LOG}>"$RIG_TMP/chaos.fifo"
fail_line() { printf 'Failed password for root from %s port 40000 ssh2\n' "$1" >&"$LOG"; }

# bans announced by a daemon that ran in one run (daemon.log, one line per ban after the ack)
announced() { grep -oE 'sshd: banned [0-9a-f.:]+ ' "$RIG_TMP/daemon.log" | awk '{ print $3 }' | sort -u; }
kernel() { rig_nft_elements | awk '$1 ~ /^v[46]_port$/ { print $2 }' | sort -u; }
state() { sqlite3 "$DB" "select addr from bans" | sort -u; }

RANDOM=4242
for k in $(seq 0 19); do
	rig_start_daemon
	for i in $(seq $((k * 50)) $((k * 50 + 49))); do fail_line "${addrs[$i]}"; done
	sleep "0.$((RANDOM % 300))"
	rig_kill_daemon
done
n_announced=$(announced | wc -l)
rig_note "$n_announced bans announced across 20 killed lifetimes"

rig_start_daemon
# (the restore runs before the daemon is ready; read the log of this lifetime only, anew each poll)
restored() { tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -q 'start: restored'; }
rig_wait_until 10 restored
# nothing announced is lost, and kernel and state agree
missing=$(comm -23 <(announced) <(kernel))
[ -z "$missing" ] || fail "announced bans missing from the kernel: $missing"
missing=$(comm -23 <(announced) <(state))
[ -z "$missing" ] || fail "announced bans missing from the state: $missing"
[ "$(kernel)" = "$(state)" ] || fail "kernel and state disagree: $(diff <(kernel) <(state) | head)"
[ -z "$(sqlite3 "$DB" "select addr from bans group by addr having count(*) > 1")" ] ||
	fail "addresses banned twice: $(sqlite3 "$DB" "select addr, count(*) from bans group by addr having count(*) > 1")"

# a last lifetime without kills: everything once more
for a in "${addrs[@]}"; do fail_line "$a"; done
n_all() { [ "$(kernel | wc -l)" = 1000 ]; }
rig_wait_until 60 n_all
rig_stop_daemon
[ "$(sqlite3 "$DB" "select count(*), count(distinct addr) from bans")" = "1000|1000" ] ||
	fail "state: $(sqlite3 "$DB" "select count(*), count(distinct addr) from bans")"
[ "$(kernel)" = "$(state)" ] || fail "kernel and state disagree at the end"
echo "ok ($n_announced bans announced before the last lifetime)"
