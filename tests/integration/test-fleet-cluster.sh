#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The fleet of test-fleet.sh on a three-server NATS cluster (docs/FLEET.md): servers n1, n2, n3 in
# the rig's network namespace, clients on 192.0.2.1:4222/4223/4224 (node-a's end of the veth, so
# node-b reaches them from the attacker namespace), routes on 192.0.2.1:6222..6224, each with a
# JetStream store of its own, the accounts and permissions of fleet-lib.sh. Both daemons list the
# three URLs and create the stream with stream_replicas = 3.
#  - the cluster forms, the daemon creates an R3 stream, a first ban of A reaches B;
#  - A bans a burst of 500 addresses (IPv6 /64s); halfway through, SIGKILL of the server that leads
#    the stream (it holds the stream's acknowledged writes; the remaining two elect a new leader);
#  - afterwards each of the 500 is in B's kernel, B applied each message once, the stream stored
#    each ban once (no duplicate sequence), A's outbox is empty;
#  - the killed server restarts on its store and catches up; another burst of 500, and halfway
#    through SIGKILL of the server node-a is connected to: the same checks for the 1,000 bans;
#  - no server refused a permission.
# FLEET_CLUSTER_REPLICAS=1 (by hand) runs it on an R1 stream: the killed server is the one that
# holds it and the test fails (the bans after the kill stay in A's outbox, B never sees them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
. "$(dirname "$0")/fleet-lib.sh"
REPLICAS=${FLEET_CLUSTER_REPLICAS:-3}
N=500
NATS_PIDS=()

fleet_nodes
URL=nats://192.0.2.1:4222,nats://192.0.2.1:4223,nats://192.0.2.1:4224
for i in 1 2 3; do
	mkdir -p "$RIG_TMP/js$i"
	{
		cat <<EOF
server_name: n$i
listen: 192.0.2.1:$((4221 + i))
http: 192.0.2.1:$((8221 + i))
jetstream { store_dir: "$RIG_TMP/js$i" }
cluster {
  name: fleet-cluster
  listen: 192.0.2.1:$((6221 + i))
  routes: [ nats-route://192.0.2.1:6222, nats-route://192.0.2.1:6223, nats-route://192.0.2.1:6224 ]
}
EOF
		fleet_accounts
	} >"$RIG_TMP/nats$i.conf"
done
rig_on_exit 'for p in "${NATS_PIDS[@]}"; do [ -z "$p" ] || { kill -TERM "$p"; wait "$p"; } 2>/dev/null || true; done; for i in 1 2 3; do _rig_dump "nats$i.log"; done'
t0=$(date +%s%N)
for i in 1 2 3; do
	nats-server -c "$RIG_TMP/nats$i.conf" >>"$RIG_TMP/nats$i.log" 2>&1 &
	NATS_PIDS[i]=$!
done

# /jsz of server I (its JetStream view, with the FLEET account's streams), on stdout
jsz() { "$RIG_PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' \
	"http://192.0.2.1:$((8221 + $1))/jsz?accounts=true&streams=true&config=true"; }
# EXPR over the details "s" of the stream NFTJAIL_BANS in the /jsz of server I (Python, printed);
# fails when that server holds no replica of it
stream_info() { # I EXPR
	jsz "$1" | "$RIG_PY" -c '
import json, sys
j = json.load(sys.stdin)
s = [s for a in j.get("account_details", []) for s in a.get("stream_detail", []) if s["name"] == "NFTJAIL_BANS"]
if not s:
    sys.exit(1)
s = s[0]
print(eval(sys.argv[1]))' "$2"
}
stream_any() { # EXPR: stream_info of the first live server that holds the stream
	local i
	for i in 1 2 3; do
		[ -n "${NATS_PIDS[i]}" ] && stream_info "$i" "$1" 2>/dev/null && return 0
	done
	return 1
}
meta_leader() { # I: prints the meta leader server I sees
	jsz "$1" | "$RIG_PY" -c 'import json, sys; l = json.load(sys.stdin).get("meta_cluster", {}).get("leader"); print(l) if l else sys.exit(1)'
}
all_agree_on_meta_leader() {
	local l1 l2 l3
	l1=$(meta_leader 1) && l2=$(meta_leader 2) && l3=$(meta_leader 3) && [ "$l1" = "$l2" ] && [ "$l2" = "$l3" ]
}
rig_wait_until 60 all_agree_on_meta_leader
t1=$(date +%s%N)
rig_note "cluster formed, meta leader $(meta_leader 1) elected, $(((t1 - t0) / 1000000)) ms after the three servers started"

fleet_node_confs "stream_replicas = $REPLICAS"
"$NFTJAILD" --test-config --config-dir "$CONF_B" | grep -q "^  fleet stream_replicas: $REPLICAS " || fail "--test-config does not show stream_replicas"
rig_start_daemon
start_b
fleet_connected() { rig_ctl status | grep -q '^Fleet: node node-a, connected,'; }
rig_wait_until 30 fleet_connected
echo "fail from 203.0.113.10" >>/var/log/a.log
rig_wait_until 30 b_has '^203\.0\.113\.10 tcp 22 .* sshd@node-a$'
t2=$(date +%s%N)
rig_note "the stream made and a first ban through it $(((t2 - t1) / 1000000)) ms after the meta leader"
replicas=$(stream_any 's["config"]["num_replicas"]') || fail "no server shows the stream"
[ "$replicas" = "$REPLICAS" ] || fail "the stream has $replicas replicas, not $REPLICAS"
leader=$(stream_any 's["cluster"]["leader"]')
holders() { # SEQ: the servers whose store holds the stream up to sequence SEQ
	local i
	for i in 1 2 3; do
		[ "$(stream_info "$i" 's["state"]["last_seq"]' 2>/dev/null)" = "$1" ] && printf 'n%s ' "$i"
	done
	echo
}
all_hold() { [ "$(holders "$1")" = "n1 n2 n3 " ]; }
[ "$REPLICAS" = 1 ] || rig_wait_until 30 all_hold 1
rig_note "stream NFTJAIL_BANS: R$replicas, leader $leader, on $(holders 1)"

# the server each daemon is connected to (its /connz lists the user)
connected_to() { # USER: prints 1, 2 or 3
	local i
	for i in 1 2 3; do
		[ -n "${NATS_PIDS[i]}" ] && "$RIG_PY" -c 'import json, sys, urllib.request
c = json.load(urllib.request.urlopen(sys.argv[1], timeout=2))
sys.exit(not any(x.get("authorized_user") == sys.argv[2] for x in c.get("connections") or []))' \
			"http://192.0.2.1:$((8221 + i))/connz?auth=1" "$1" 2>/dev/null && { echo "$i"; return 0; }
	done
	return 1
}
where() { echo "node-a on n$(connected_to node-a || echo '?'), node-b on n$(connected_to node-b || echo '?')"; }

# burst FIRST VICTIM_FN WHAT: N addresses from FIRST in 50 writes; after the 25th, SIGKILL of the
# server VICTIM_FN prints; then each reaches B once and A's outbox drains
burst() {
	local first=$1 victim_fn=$2 what=$3 received_before c i victim outbox in_b t3 t4 t5
	received_before=$(b_received)
	for c in $(seq 0 49); do
		[ "$c" != 24 ] || victim=$($victim_fn)
		for i in $(seq $((first + c * N / 50)) $((first + (c + 1) * N / 50 - 1))); do
			printf 'fail from 2001:db8:%x::7\n' "$i"
		done >>/var/log/a.log
		if [ "$c" = 24 ]; then # right after the write: bans of it are on their way
			kill -KILL "${NATS_PIDS[victim]}"
			t3=$(date +%s%N)
			wait "${NATS_PIDS[victim]}" 2>/dev/null || true
			NATS_PIDS[victim]=
			outbox=$(rig_sql 'SELECT COUNT(*) FROM fleet_outbox')
			in_b=$(rig_attacker_exec "$RIG_PY" "$RIG_LIBDIR/nftq.py" v6_port 2>/dev/null | grep -c ' sshd@node-a$' || true)
			rig_note "SIGKILL of n$victim ($what); then $outbox bans in node-a's outbox, node-b holding $in_b of the $((first + (c + 1) * N / 50 - 1)) bans so far"
		fi
		sleep 0.05 # pacing, so that bans are made before and after the kill (not a timing assertion)
	done
	rig_wait_until 120 outbox_is 0
	t4=$(date +%s%N)
	rig_wait_until 120 b_count_v6 $((first + N - 1))
	t5=$(date +%s%N)
	rig_note "node-a's outbox empty $(((t4 - t3) / 1000000)) ms, all $N bans in node-b's kernel $(((t5 - t3) / 1000000)) ms after the kill"
	rig_note "the stream's leader: $(stream_any 's["cluster"]["leader"]'); $(where)"
	[ "$(($(b_received) - received_before))" = "$N" ] ||
		fail "node-b applied $(($(b_received) - received_before)) messages of the burst, not $N"
}
# each ban once: in B's kernel (every address), in the stream, in B's state
check_once() { # COUNT (of the bans of the bursts)
	rig_attacker_exec "$RIG_PY" "$RIG_LIBDIR/nftq.py" v6_port | awk '/ sshd@node-a$/ { print $1 }' | sort >"$RIG_TMP/got"
	for i in $(seq 1 "$1"); do printf '2001:db8:%x::/64\n' "$i"; done | sort >"$RIG_TMP/want"
	diff "$RIG_TMP/want" "$RIG_TMP/got" >&2 || fail "node-b's kernel does not hold each of the $1 bans once"
	last_seq=$(stream_any 's["state"]["last_seq"]')
	[ "$last_seq" = $(($1 + 1)) ] || fail "the stream's last sequence is $last_seq, not $(($1 + 1)): a ban was stored twice or lost"
	[ "$(sql_b 'SELECT COUNT(*) FROM fleet_remote')" = $(($1 + 1)) ] || fail "node-b's state does not hold $(($1 + 1)) fleet bans"
}
rig_note "$(where)"

# ---- round 1: the stream's leader dies halfway through a burst
stream_leader() { stream_any 's["cluster"]["leader"]' | tr -d n; }
burst 1 stream_leader "the stream's leader"
check_once "$N"

# ---- round 2: the dead server restarts (its store as it was) and catches up; then the server
# node-a is connected to dies halfway through another burst
down=
for i in 1 2 3; do [ -n "${NATS_PIDS[i]}" ] || down=$i; done
t6=$(date +%s%N)
nats-server -c "$RIG_TMP/nats$down.conf" >>"$RIG_TMP/nats$down.log" 2>&1 &
NATS_PIDS[down]=$!
[ "$REPLICAS" = 1 ] || rig_wait_until 60 all_hold $((N + 1))
t7=$(date +%s%N)
rig_note "n$down restarted and current with the stream in $(((t7 - t6) / 1000000)) ms"
node_a_server() { connected_to node-a; }
burst $((N + 1)) node_a_server "node-a's server"
check_once $((2 * N))
if grep -h 'Violation' "$RIG_TMP"/nats?.log >&2; then fail "a server refused a permission"; fi

stop_b
rig_stop_daemon
echo "ok"
