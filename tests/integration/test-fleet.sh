#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two nodes sharing bans through a real nats-server with JetStream (docs/FLEET.md). node-a is the
# rig's network namespace, node-b the attacker namespace of the rig (each has its own nf_tables
# and its own table inet nftjail); nats-server listens on node-a's end of the veth between them,
# 192.0.2.1:4222, with one user per node whose publish permission is its own subjects only.
#  - an automatic ban on A is in B's kernel with its remaining time and the comment sshd@node-a;
#    B publishes nothing of it;
#  - NATS down: A still bans, the ban waits in A's outbox; NATS back: the outbox drains, B has it;
#  - B stopped while A bans; B back: it catches up from its saved stream position;
#  - nftjail unban on A lifts the ban on B (a tombstone on the same subject); unban --fleet on A
#    says so; on B, unban --fleet of A's ban lifts it on B only and says only node-a can;
#  - NATS down while A bans 1,000 addresses; NATS back: all reach B, each once;
#  - nftjail status shows the fleet and the bans in and refused per origin;
#  - refused by B: a message under node-a's subjects that says it comes from node-c, a /8, an
#    address of B's fleet_ignoreip; and the server refuses node-a publishing as node-b.
#  - a libnats that cannot be loaded (NFTJAIL_LIBNATS): --test-config fails naming it; the
#    daemon gives one clear error and bans locally;
#  - the fleet's journal events (MESSAGE_IDs): connected, disconnected, refused (once per origin
#    and reason, with both), outbox backlog and drained; a catch-up of 1,100 bans is counted in
#    catch-up events and logged one by one, each ban exactly once in all.
# The absence of a refused ban is checked after a later legitimate ban reached B (the stream
# delivers in order), never after a sleep.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
. "$(dirname "$0")/fleet-lib.sh"
fleet_setup
"$NFTJAILD" --test-config --config-dir "$CONF_B" | grep -q '^fleet: enabled, name node-b, url nats://192.0.2.1:4222$' ||
	fail "--test-config does not show the fleet"
# --test-config loads nats.c as the fleet will (the library here is the real one)
"$NFTJAILD" --test-config --config-dir "$CONF_B" | grep -q '^configuration OK$' ||
	fail "--test-config with [fleet] and libnats installed is not OK"
# both daemons log to the rig's journal: the fleet's events carry MESSAGE_IDs (docs/JOURNAL.md)
b_log_has() { journalctl -q --no-pager -o cat _PID="$B_PID" | grep -qF -- "$1"; }
MID_CONNECTED=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b30 MID_DISCONNECTED=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b31
MID_REFUSED=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b32 MID_BACKLOG=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b33
MID_CATCHUP=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b34 MID_BAN=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01

rig_start_daemon --log-target journal
start_b --log-target journal
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_CONNECTED NFTJAIL_FLEET_NODE=node-a NFTJAIL_FLEET_URL=nats://192.0.2.1:4222
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_CONNECTED NFTJAIL_FLEET_NODE=node-b
# the fleet dlopen()ed nats.c (test-idle-maps: a daemon without [fleet] never maps it)
grep -q '/libnats\.so' "/proc/$RIG_DAEMON_PID/maps" || fail "node-a's fleet runs without libnats in its maps"

# ---- a ban on A reaches B, with its remaining time and its origin
echo "fail from 203.0.113.10" >>/var/log/a.log
rig_wait_until 10 rig_nft_has '^203\.0\.113\.10 tcp 22 .* sshd$' v4_port
rig_wait_until 10 b_has '^203\.0\.113\.10 tcp 22 [0-9]+ [0-9]+ sshd@node-a$'
line=$(b_elements | grep '^203\.0\.113\.10 ')
rig_note "node-b: $line"
read -r _ _ _ timeout expires _ <<<"$line"
[ "$timeout" -le 3600 ] && [ "$timeout" -ge 3500 ] || fail "node-b's timeout is $timeout s, not A's remaining time"
[ "$expires" -le "$timeout" ] || fail "node-b's element expires in $expires s (timeout $timeout)"
[ "$(rig_sql 'SELECT COUNT(*) FROM fleet_outbox')" = 0 ] || fail "node-a's outbox did not drain"
# B never publishes a fleet ban: nothing ever went into its outbox (AUTOINCREMENT remembers)
[ "$(sql_b "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'fleet_outbox'")" = 0 ] || fail "node-b queued a fleet ban"
[ "$(sql_b "SELECT origin || ' ' || jail || ' ' || addr FROM fleet_remote")" = "node-a sshd 203.0.113.10" ] ||
	fail "node-b's state does not record the fleet ban with its origin"
rig_nft_has 'sshd@' v4_port && fail "node-a got a fleet ban back"

# ---- NATS down: A bans locally, the outbox keeps it; NATS back: it drains and B has it
stop_nats
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_DISCONNECTED NFTJAIL_FLEET_NODE=node-a
echo "fail from 203.0.113.11" >>/var/log/a.log
rig_wait_until 10 rig_nft_has '^203\.0\.113\.11 tcp 22 .* sshd$' v4_port
rig_wait_until 10 outbox_is 1
start_nats
rig_wait_until 20 b_has '^203\.0\.113\.11 tcp 22 .* sshd@node-a$'
rig_wait_until 10 outbox_is 0

# ---- B stopped while A bans; B back catches up from its saved position
stop_b
seq_before=$(sql_b "SELECT value FROM fleet_state WHERE key = 'stream_seq'")
[ "${seq_before:-0}" -ge 2 ] || fail "node-b saved stream position $seq_before"
echo "fail from 203.0.113.12" >>/var/log/a.log
rig_wait_until 10 rig_nft_has '^203\.0\.113\.12 tcp 22 .* sshd$' v4_port
rig_wait_until 10 outbox_is 0
start_b --log-target journal
rig_wait_until 20 b_has '^203\.0\.113\.12 tcp 22 .* sshd@node-a$'

# ---- what B refuses
now=$(date +%s)
msg() { # ADDR PREFIXLEN ORIGIN
	printf '{"v":1,"op":"ban","addr":"%s","prefixlen":%s,"jail":"sshd","proto":"tcp","ports":[22],"created":%s,"expires":%s,"failures":5,"origin":"%s","seq":9%s}' \
		"$1" "$2" "$now" "$((now + 3600))" "$3" "$RANDOM"
}
# node-a's own subject, another origin in the message
"$FLEET_PUB" "$URL" node-a secret-a nftjail.ban.node-a.sshd.203-0-113-20_32 "$(msg 203.0.113.20 32 node-c)" >/dev/null ||
	fail "the server refused node-a publishing on its own subjects"
rig_wait_until 10 b_log_has "fleet: refused a message from 'node-a' (subject, address -)"
# a /8, wider than fleet_max_prefix
"$FLEET_PUB" "$URL" node-a secret-a nftjail.ban.node-a.sshd.203-0-0-0_8 "$(msg 203.0.0.0 8 node-a)" >/dev/null ||
	fail "the server refused node-a publishing on its own subjects"
rig_wait_until 10 b_log_has "fleet: refused a message from 'node-a' (prefix, address 203.0.0.0)"
# node-a publishing as node-b: the server refuses (no ack)
"$FLEET_PUB" "$URL" node-a secret-a nftjail.ban.node-b.sshd.203-0-113-30_32 "$(msg 203.0.113.30 32 node-b)" 2>"$RIG_TMP/pub.err" &&
	fail "the server let node-a publish under node-b's name"
rig_note "fleet-pub as node-b: $(cat "$RIG_TMP/pub.err")"
# B's fleet_ignoreip: banned on A, never on B
echo "fail from 198.51.100.200" >>/var/log/a.log
rig_wait_until 10 rig_nft_has '^198\.51\.100\.200 tcp 22 .* sshd$' v4_port
rig_wait_until 10 b_log_has "fleet: refused a message from 'node-a' (fleet_ignoreip, address 198.51.100.200)"
# a barrier: a later legitimate ban is there, so the refused ones were read before it
echo "fail from 203.0.113.13" >>/var/log/a.log
rig_wait_until 10 b_has '^203\.0\.113\.13 tcp 22 .* sshd@node-a$'
elements=$(b_elements)
rig_note "node-b: $elements"
for a in 203.0.113.20 203.0.0.0 203.0.113.30 198.51.100.200; do
	grep -q "^$a " <<<"$elements" && fail "node-b applied the refused ban of $a"
done
grep -q "Publish Violation - User \"node-a\", Subject \"nftjail.ban.node-b.sshd.203-0-113-30_32\"" "$RIG_TMP/nats.log" ||
	fail "nats-server did not log node-a's refused publish"
# and that was the only thing refused: the permission set of docs/FLEET.md is enough
violations=$(grep -c 'Violation' "$RIG_TMP/nats.log" || true)
[ "$violations" = 1 ] || { grep Violation "$RIG_TMP/nats.log" >&2; fail "$violations permission violations, not 1"; }
[ "$(grep -c 'sshd@node-a$' <<<"$elements")" = 4 ] || fail "node-b holds other than the 4 bans of node-a"
# the refusals' events: once per origin and reason, with both as fields
refused=$(journalctl -q --no-pager -o json MESSAGE_ID=$MID_REFUSED | "$RIG_PY" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["NFTJAIL_FLEET_ORIGIN"], e["NFTJAIL_FLEET_REASON"], e["NFTJAIL_ADDR"])' | sort)
[ "$refused" = "node-a fleet_ignoreip 198.51.100.200
node-a prefix 203.0.0.0
node-a subject -" ] || fail "the refusal events: $refused"

# an unban on A is a tombstone: B lifts its element of that ban, and only that one
rig_ctl unban 203.0.113.10 >/dev/null
rig_wait_until 10 b_lacks '^203\.0\.113\.10 '
b_has '^203\.0\.113\.11 tcp 22 .* sshd@node-a$' || fail "node-b lost another fleet ban"

# nftjail status: the fleet, and per origin (counters of this run: B restarted before .12)
st=$("$NFTJAIL" --socket "$SOCK_B" status)
rig_note "$st"
grep -q '^Fleet: node node-b, connected, outbox 0, published 0, received 3, refused 3 ' <<<"$st" || fail "node-b's status"
grep -q '^  from node-a: 3 applied, 3 refused$' <<<"$st" || fail "node-b's status per origin"
grep -q '^sshd: 0 lines, 0 failures (0 tracked now), 0 bans$' <<<"$st" || fail "node-b's jail counts the fleet's bans as its own"
st=$(rig_ctl status)
grep -q '^Fleet: node node-a, connected, outbox 0, published 6, received 0, refused 0 ' <<<"$st" || fail "node-a's status: $st"
"$NFTJAIL" --socket "$SOCK_B" status --json | "$RIG_PY" -c '
import json, sys
f = json.load(sys.stdin)["fleet"]
assert f["name"] == "node-b" and f["connected"] is True and f["outbox"] == 0 and f["stream_seq"] == 8 and f["lag"] == 0, f
assert f["origins"] == [{"name": "node-a", "in": 3, "refused": 3}], f' || fail "node-b's status --json"

# ---- unban --fleet on the origin: a tombstone, gone on B; on B, of A's ban: refused fleet-wide,
# lifted on B only, nothing published by B
echo "fail from 203.0.113.14" >>/var/log/a.log
rig_wait_until 10 b_has '^203\.0\.113\.14 tcp 22 .* sshd@node-a$'
out=$(rig_ctl unban --fleet 203.0.113.14)
rig_note "node-a: $out"
[ "$out" = "unbanned 203.0.113.14 (1 element)
fleet: 1 tombstone published" ] || fail "node-a's unban --fleet said: $out"
rig_wait_until 10 b_lacks '^203\.0\.113\.14 '
echo "fail from 203.0.113.15" >>/var/log/a.log
rig_wait_until 10 b_has '^203\.0\.113\.15 tcp 22 .* sshd@node-a$'
rc=0
"$NFTJAIL" --socket "$SOCK_B" unban --fleet 203.0.113.15 >"$RIG_TMP/unban-b.out" 2>"$RIG_TMP/unban-b.err" || rc=$?
rig_note "node-b: $(cat "$RIG_TMP/unban-b.out" "$RIG_TMP/unban-b.err")"
[ "$rc" = 1 ] || fail "node-b's unban --fleet of node-a's ban exited $rc, not 1"
grep -qF "unban: 203.0.113.15 in sshd came from node node-a: only node-a can lift it fleet-wide; unbanned here only" \
	"$RIG_TMP/unban-b.err" || fail "node-b's unban --fleet did not say that only node-a can lift it"
grep -qx 'fleet: 0 tombstones published' "$RIG_TMP/unban-b.out" || fail "node-b's unban --fleet: $(cat "$RIG_TMP/unban-b.out")"
b_lacks '^203\.0\.113\.15 ' || fail "node-b's unban --fleet left its element"
rig_nft_has '^203\.0\.113\.15 tcp 22 .* sshd$' v4_port || fail "node-b's unban --fleet lifted node-a's ban on node-a"
[ "$(sql_b "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'fleet_outbox'")" = 0 ] || fail "node-b published a tombstone"
"$NFTJAIL" --socket "$SOCK_B" unban --fleet --json 203.0.113.15 | "$RIG_PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["unbanned"] == 0 and r["fleet"] == {"tombstones": 0, "remote_total": 0, "remote": []}, r' ||
	fail "node-b's unban --fleet --json"

# ---- NATS down while A bans 1,000 addresses (IPv6, a /64 each); NATS back: each reaches B once
received_before=$(b_received)
a_published() { rig_ctl status --json | "$RIG_PY" -c 'import json, sys; print(json.load(sys.stdin)["fleet"]["published"])'; }
a_published_ge() { [ "$(a_published)" -ge "$1" ]; }
b_received_ge() { [ "$(b_received)" -ge "$1" ]; }
b_live_ge() {
	[ "$("$NFTJAIL" --socket "$SOCK_B" status --json | "$RIG_PY" -c 'import json, sys; print(json.load(sys.stdin)["elements_live"])')" -ge "$1" ]
}
stop_nats
for i in $(seq 1 1000); do printf 'fail from 2001:db8:%x::7\n' "$i"; done >>/var/log/a.log
rig_wait_until 30 outbox_is 1000
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_BACKLOG NFTJAIL_FLEET_NODE=node-a NFTJAIL_FLEET_OUTBOX=1000
t0=$(date +%s%N)
start_nats
rig_wait_until 60 b_count_v6 1000
t1=$(date +%s%N)
rig_note "1,000 bans from A's outbox in B's kernel $(((t1 - t0) / 1000000)) ms after NATS came back"
rig_wait_until 10 outbox_is 0
published_before=$(a_published)
[ "$(($(b_received) - received_before))" = 1000 ] || fail "node-b applied $(($(b_received) - received_before)) messages, not 1000"
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_BACKLOG NFTJAIL_FLEET_NODE=node-a MESSAGE="fleet: the outbox drained"

# ---- a catch-up of 1,100 bans: those more than 1,000 messages behind the stream's end are
# counted in catch-up events, the others logged one by one; together, each exactly once
stop_b
for i in $(seq 1 1100); do printf 'fail from 2001:db8:1:%x::7\n' "$i"; done >>/var/log/a.log
rig_wait_until 30 a_published_ge $((published_before + 1100))
start_b --log-target journal
rig_wait_until 30 b_received_ge 1100
rig_wait_until 10 b_live_ge 1100
counts=$(journalctl -q --no-pager -o json _PID="$B_PID" | "$RIG_PY" -c '
import json, sys
quiet = alone = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("MESSAGE_ID") == "'$MID_CATCHUP'":
        quiet += int(e["NFTJAIL_FLEET_APPLIED"])
    elif e.get("MESSAGE_ID") == "'$MID_BAN'" and e.get("NFTJAIL_ADDR", "").startswith("2001:db8:1:"):
        alone += 1
print(quiet, alone)')
rig_note "node-b's catch-up: counted, logged alone: $counts"
read -r quiet alone <<<"$counts"
[ "$quiet" -gt 0 ] && [ "$((quiet + alone))" = 1100 ] || fail "node-b's catch-up events: $counts, not 1100 in all"

stop_b
rig_stop_daemon

# ---- a libnats that cannot be loaded (NFTJAIL_LIBNATS names the file to load instead of the
# build's soname; nftjaild(8)): one error naming the library, its package and dlerror(), or the
# missing symbol; the daemon runs on without the fleet (as when a fleet cannot start), banning
# locally, its outbox untouched
nats_pkg=$(grep -aoE 'it is in the package [A-Za-z0-9.+-]+' "$NFTJAILD" | head -n 1 | awk '{print $NF}')
[ -n "$nats_pkg" ] || fail "nftjaild names no package for libnats"
outbox_before=$(rig_sql 'SELECT COUNT(*) FROM fleet_outbox')
n=60
for lib in "$RIG_TMP/no-such-dir/libnats.so.3.4" libm.so.6; do
	case $lib in
	libm.so.6) why="symbol jsCtx_Destroy is missing" ;;
	*) why="$lib: cannot open shared object file: No such file or directory" ;;
	esac
	# --test-config says so first, and fails: an admin checking the config learns the fleet
	# would not start
	if NFTJAIL_LIBNATS=$lib "$NFTJAILD" --test-config --config-dir "$RIG_CONF" >"$RIG_TMP/tc.out" 2>"$RIG_TMP/tc.err"; then
		fail "--test-config passed with $lib as libnats"
	fi
	grep -qF "failed to load $lib (needed by [fleet]; it is in the package $nats_pkg)" "$RIG_TMP/tc.err" ||
		{ cat "$RIG_TMP/tc.err" >&2; fail "--test-config does not name $lib and the package $nats_pkg"; }
	! grep -q '^configuration OK' "$RIG_TMP/tc.out" || fail "--test-config said OK with $lib as libnats"
	NFTJAIL_LIBNATS=$lib rig_start_daemon
	log_has() { tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -qF -- "$1"; }
	rig_wait_until 10 log_has "fleet: not started, banning locally only"
	log_has "failed to load $lib (needed by [fleet]; it is in the package $nats_pkg)" ||
		{ _rig_dump daemon.log; fail "no error naming $lib and the package $nats_pkg"; }
	log_has "$why" || { _rig_dump daemon.log; fail "the error for $lib does not say: $why"; }
	rig_note "$(tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -F 'failed to load')"
	[ "$(tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -c 'failed to load')" = 1 ] ||
		fail "more than one load error for $lib"
	! grep -q '/libnats\.so' "/proc/$RIG_DAEMON_PID/maps" || fail "libnats mapped after the load of $lib failed"
	echo "fail from 203.0.113.$n" >>/var/log/a.log
	rig_wait_until 10 rig_nft_has "^203\.0\.113\.$n tcp 22 .* sshd$" v4_port
	rig_ctl status --json | "$RIG_PY" -c 'import json, sys; assert "fleet" not in json.load(sys.stdin)' ||
		fail "status shows a fleet that did not start"
	rig_stop_daemon
	n=$((n + 1))
done
[ "$(rig_sql 'SELECT COUNT(*) FROM fleet_outbox')" = "$outbox_before" ] || fail "the outbox changed without a fleet"
echo "ok"
