#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Chaos (issue 6): failures from 1,000 addresses (maxretry 5: 800 addresses send 5 failures, 200
# send 4 and must never be banned) arrive in a burst spread over 20 lifetimes of the daemon, each
# ended by SIGKILL at a random moment, and a last one that runs to the end. The journal position
# is committed with the failures read before it, and a ban with the deletion of its failures, so
# a kill neither loses nor double-counts a line. What must hold at the end: the set of banned
# addresses and the ban count of each (rows in bans) equal those of a reference run without kills
# on the same input, kernel and state agree, and every address below maxretry has exactly its 4
# failures stored.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
DB=$RIG_STATE/nftjail.db

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 5
findtime = 1h
bantime = -1
ipv6_prefix = 128
CONF
rig_nft_load

# 768 IPv4 and 232 IPv6 documentation addresses; every fifth one gets maxretry - 1 failures
addrs=()
for net in 192.0.2 198.51.100 203.0.113; do for i in $(seq 0 255); do addrs+=("$net.$i"); done; done
for i in $(seq 1 232); do addrs+=("2001:db8::1:$(printf %x "$i")"); done
[ ${#addrs[@]} = 1000 ] || fail "expected 1000 addresses"
# the input: five rounds over the addresses, interleaved
lines=()
for r in 0 1 2 3 4; do
	for i in "${!addrs[@]}"; do
		[ "$r" = 4 ] && [ $((i % 5)) = 4 ] && continue
		lines+=("${addrs[$i]}")
	done
done
N=${#lines[@]}
[ "$N" = 4800 ] || fail "expected 4800 lines, got $N"
under=$(for i in "${!addrs[@]}"; do [ $((i % 5)) = 4 ] && echo "${addrs[$i]}"; done | sort)

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
send() { for ((i = $1; i < $2; i++)); do fail_line "${lines[$i]}"; done; }

kernel() { rig_nft_elements | awk '$1 ~ /^v[46]_port(_128|_64)?$/ { print $2 }' | sort -u; }
state() { sqlite3 "$DB" "select addr from bans" | sort -u; }
counts() { sqlite3 "$DB" "select addr, count(*) from bans group by addr" | sort; }
n_bans() { [ "$(kernel | wc -l)" = 800 ]; }
# the daemon has read everything: the failures of the 200 addresses below maxretry are stored
n_under() { [ "$(sqlite3 "$DB" "select count(*) from failures")" = 800 ]; }
fresh() {
	rm -f "$DB" "$DB"-wal "$DB"-shm "$RIG_STATE"/journal-*.cursor
	rig_nft delete table inet nftjail
	rig_nft_load
}

# reference: one lifetime, no kills
rig_start_daemon
send 0 "$N"
rig_wait_until 60 n_bans
rig_wait_until 30 n_under
rig_stop_daemon
ref_counts=$(counts)
ref_kernel=$(kernel)
[ "$(echo "$ref_counts" | wc -l)" = 800 ] || fail "reference: $(echo "$ref_counts" | wc -l) banned addresses"
[ -z "$(comm -12 <(echo "$ref_kernel") <(echo "$under"))" ] || fail "reference: an address below maxretry is banned"

# the same input over 20 killed lifetimes; the first one commits a position before any failure
fresh
rig_start_daemon
printf 'Accepted publickey for root from 192.0.2.1 port 40000 ssh2\n' >&"$LOG"
has_pos() { [ "$(sqlite3 "$DB" "select count(*) from positions" 2>/dev/null)" = 1 ]; }
rig_wait_until 10 has_pos
RANDOM=4242
per=$((N / 20))
for k in $(seq 0 19); do
	[ -n "$RIG_DAEMON_PID" ] || rig_start_daemon
	send $((k * per)) $(((k + 1) * per))
	# 0 to 149 ms: often while journald and the daemon are still at the burst
	sleep "$(printf 0.%03d $((RANDOM % 150)))"
	rig_kill_daemon
done
rig_note "$(sqlite3 "$DB" "select count(*) from bans") bans and $(sqlite3 "$DB" "select count(*) from failures") failures stored after 20 killed lifetimes"

# the last lifetime reads what was left and runs to the end
rig_start_daemon
rig_wait_until 60 n_bans
rig_wait_until 30 n_under
sleep 1
rig_stop_daemon
# which crash windows the kills hit: bans decided but not applied (replayed), bans in the kernel
# but not in the state (adopted, then not banned again)
rig_note "$(grep -oE 'sshd: [0-9]+ stored failures read back, [0-9]+ bans due, [0-9]+ banned already' "$RIG_TMP/daemon.log" |
	awk '{ f += $2; d += $7; a += $10; n++ } END { printf "%d restarts read back %d failures: %d bans replayed, %d found banned already", n, f, d, a }')"
[ "$(counts)" = "$ref_counts" ] ||
	fail "bans differ from the run without kills: $(diff <(echo "$ref_counts") <(counts) | head)"
[ "$(kernel)" = "$ref_kernel" ] || fail "kernel differs from the run without kills: $(diff <(echo "$ref_kernel") <(kernel) | head)"
[ "$(kernel)" = "$(state)" ] || fail "kernel and state disagree: $(diff <(kernel) <(state) | head)"
per_addr=$(sqlite3 "$DB" "select addr, count(*) from failures group by addr" | awk -F'|' '$2 != 4' | head)
[ -z "$per_addr" ] || fail "addresses below maxretry whose failures were lost or counted twice: $per_addr"
[ "$(sqlite3 "$DB" "select addr from failures" | sort -u)" = "$under" ] || fail "failures stored for the wrong addresses"
echo "ok (800 bans, one row each, as without kills; 200 addresses at 4/5 failures each)"
