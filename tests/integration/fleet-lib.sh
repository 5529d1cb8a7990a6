# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034
# The two-node fleet of test-fleet.sh and bench-fleet.sh, sourced after rig_enter: node-a is
# the rig's network namespace, node-b the attacker namespace (each has its own nf_tables and
# table inet nftjail), nats-server with JetStream (in $RIG_TMP/js) listens on node-a's end of
# the veth between them, 192.0.2.1:4222, with one user per node holding the permission set of
# docs/FLEET.md. Each node's jail sshd bans on one line "fail from ADDR" of its own log file
# (/var/log/a.log, /var/log/b.log), maxretry 1, bantime 1h, port 22.
#   fleet_setup [OPTION_LINES]   both configs ([fleet] plus OPTION_LINES), nats-server started
#   fleet_nodes; fleet_node_confs [OPTION_LINES]   fleet_setup without nats-server (for a test
#                                that runs servers of its own: test-fleet-cluster.sh)
#   fleet_accounts               the accounts block of a nats-server configuration
#   start_nats / stop_nats       nats-server (the same store each time)
#   start_b / stop_b             node-b's daemon (node-a's: rig_start_daemon / rig_stop_daemon)
#   b_elements / b_has RE / b_lacks RE   node-b's v4_port set (rig_nft_elements' lines)
#   b_count_v6 N                 node-b holds N elements of node-a in its IPv6 port sets
#   b_received                   node-b's fleet "received" counter (status --json)
#   sql_b SQL / outbox_is N      node-b's state; node-a's outbox holds N rows
# Variables: URL, CONF_B, STATE_B, SOCK_B, B_PID, NATS_PID, FLEET_PUB.
command -v nats-server >/dev/null || skip "nats-server missing"
rig_need_sqlite
FLEET_PUB=$BUILDDIR/tests/integration/fleet-pub
URL=nats://192.0.2.1:4222
CONF_B=$RIG_TMP/conf-b STATE_B=$RIG_TMP/state-b SOCK_B=$RIG_TMP/b.sock
NATS_PID= B_PID=

fleet_perms() { # NODE
	cat <<EOF
{ publish: { allow: [ "nftjail.ban.$1.>",
    "\$JS.API.STREAM.INFO.NFTJAIL_BANS", "\$JS.API.STREAM.CREATE.NFTJAIL_BANS",
    "\$JS.API.CONSUMER.CREATE.NFTJAIL_BANS", "\$JS.FC.NFTJAIL_BANS.>" ] },
  subscribe: { allow: [ "_INBOX.>" ] } }
EOF
}

nats_up() { bash -c 'exec 3<>/dev/tcp/192.0.2.1/4222' 2>/dev/null; }
start_nats() {
	nats-server -c "$RIG_TMP/nats.conf" >>"$RIG_TMP/nats.log" 2>&1 &
	NATS_PID=$!
	rig_wait_until 10 nats_up
}
stop_nats() {
	kill -TERM "$NATS_PID"
	wait "$NATS_PID" || true
	NATS_PID=
}

fleet_node_conf() { # DIR NODE LOG IGNOREIP OPTION_LINES
	mkdir -p "$1/jail.d" "$1/filter.d"
	printf '[Definition]\nfailregex = ^fail from <HOST>$\n' >"$1/filter.d/fleettest.conf"
	printf '[sshd]\nenabled = true\nfilter = fleettest\nbackend = auto\nlogpath = %s\nmaxretry = 1\nbantime = 3600\nport = ssh\n' \
		"$3" >"$1/jail.d/test.local"
	printf 'secret-%s\n' "${2#node-}" >"$1/nats-password"
	cat >>"$1/nftjail.local" <<EOF
[fleet]
enabled = true
url = $URL
name = $2
user = $2
password_file = $1/nats-password
fleet_ignoreip = $4
$5
EOF
	: >"$3"
}

fleet_accounts() {
	cat <<EOF
accounts {
  FLEET {
    jetstream: enabled
    users: [
      { user: node-a, password: secret-a, permissions: $(fleet_perms node-a) }
      { user: node-b, password: secret-b, permissions: $(fleet_perms node-b) }
    ]
  }
}
EOF
}

fleet_nodes() {
	[ -x "$FLEET_PUB" ] || fail "$FLEET_PUB missing"
	rig_tmpfs /var/log
	rig_attacker_ns # node-b's namespace, 192.0.2.66
	rig_on_exit '[ -z "$B_PID" ] || { kill -TERM "$B_PID"; wait "$B_PID"; } 2>/dev/null || true; _rig_dump daemon-b.log'
}

fleet_node_confs() { # [OPTION_LINES]
	rig_conf_dir
	cp -a "$RIG_CONF" "$CONF_B"
	mkdir -p "$STATE_B"
	fleet_node_conf "$RIG_CONF" node-a /var/log/a.log 192.0.2.250 "${1:-}"
	fleet_node_conf "$CONF_B" node-b /var/log/b.log 198.51.100.200 "${1:-}"
}

fleet_setup() {
	fleet_nodes
	mkdir -p "$RIG_TMP/js"
	{
		printf 'listen: 192.0.2.1:4222\nserver_name: fleet-test\njetstream { store_dir: "%s" }\n' "$RIG_TMP/js"
		fleet_accounts
	} >"$RIG_TMP/nats.conf"
	rig_on_exit '[ -z "$NATS_PID" ] || { kill -TERM "$NATS_PID"; wait "$NATS_PID"; } 2>/dev/null || true; _rig_dump nats.log'
	start_nats
	fleet_node_confs "${1:-}"
}

start_b() {
	rm -f "$SOCK_B"
	nsenter --net="/run/netns/$RIG_ATTACKER_NS" -- "$NFTJAILD" --foreground --config-dir "$CONF_B" --state-dir "$STATE_B" \
		--socket "$SOCK_B" "$@" </dev/null >>"$RIG_TMP/daemon-b.log" 2>&1 &
	B_PID=$!
	rig_wait_until 15 test -S "$SOCK_B"
}
stop_b() {
	kill -TERM "$B_PID"
	wait "$B_PID" || fail "node-b exited with status $?"
	B_PID=
}

b_elements() { rig_attacker_exec "$RIG_PY" "$RIG_LIBDIR/nftq.py" v4_port; }
b_has() { # REGEX
	local out
	out=$(b_elements 2>/dev/null) || return 1
	grep -Eq -- "$1" <<<"$out"
}
b_lacks() { # REGEX
	local out
	out=$(b_elements 2>/dev/null) || return 1
	! grep -Eq -- "$1" <<<"$out"
}
b_count_v6() { # N
	local out
	out=$(rig_attacker_exec "$RIG_PY" "$RIG_LIBDIR/nftq.py" v6_port 2>/dev/null) || return 1
	[ "$(grep -c ' sshd@node-a$' <<<"$out")" = "$1" ]
}
b_received() {
	"$NFTJAIL" --socket "$SOCK_B" status --json | "$RIG_PY" -c 'import json, sys; print(json.load(sys.stdin)["fleet"]["received"])'
}
sql_b() { sqlite3 -batch -noheader "$STATE_B/nftjail.db" "$1"; }
outbox_is() { [ "$(rig_sql 'SELECT COUNT(*) FROM fleet_outbox')" = "$1" ]; }
