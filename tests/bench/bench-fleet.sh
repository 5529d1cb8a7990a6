#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The fleet (docs/FLEET.md) on the two-node rig of tests/integration/fleet-lib.sh, a real
# nats-server between two daemons in two network namespaces. Prints, never fails on time:
#  - propagation latency, kernel to kernel: from node-a's ban event to node-b's (journal
#    timestamps, one clock), p50, p99 and max over FLEET_BENCH_N bans (default 1000) written to
#    node-a's log 5 ms apart;
#  - bans/s through the fleet: FLEET_BENCH_N bans written at once, from node-a's first ban event
#    to node-b's last, and their latency;
#  - catch-up: node-b stopped while node-a bans FLEET_BENCH_CATCHUP addresses (default 100000);
#    from node-b's start (its control socket up) to its last of them applied, and until they
#    are all in its kernel.
# Addresses: a /64 of 2001:db8::/32 each (the jail bans IPv6 /64s; node-b logs the /64).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
rig_enter "$@"
. "$RIG_LIBDIR/fleet-lib.sh"
N=${FLEET_BENCH_N:-1000}
M=${FLEET_BENCH_CATCHUP:-100000}
fleet_setup "fleet_rate = 1000000"
rig_start_daemon --log-target journal
start_b --log-target journal

addrs() { # FIRST COUNT: lines "fail from 2001:db8:X:Y::7", a /64 each
	"$RIG_PY" -c 'import sys
f, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(f, f + n):
    print("fail from 2001:db8:%x:%x::7" % (0x100 + i // 60000, i % 60000 + 1))' "$1" "$2"
}

# per address, node-a's and node-b's ban event (MESSAGE_ID ban); the addresses of lines FIRST..
report() { # WHAT FIRST COUNT
	journalctl -q --no-pager -o json MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01 | "$RIG_PY" -c '
import ipaddress, json, sys
what, first, count, pa, pb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
net = lambda x: str(ipaddress.ip_network(x + "/64", strict=False).network_address)
want = {net("2001:db8:%x:%x::7" % (0x100 + i // 60000, i % 60000 + 1)) for i in range(first, first + count)}
a, b = {}, {}
for line in sys.stdin:
    e = json.loads(line)
    addr = e.get("NFTJAIL_ADDR", "")
    addr = net(addr) if ":" in addr else addr
    if addr not in want:
        continue
    t = int(e["__REALTIME_TIMESTAMP"])
    (a if e.get("_PID") == pa else b if e.get("_PID") == pb else {})[addr] = t
lat = sorted(b[x] - a[x] for x in b if x in a)
if not lat:
    sys.exit("no matching events")
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
span = (max(b.values()) - min(a.values())) / 1e6
print("%s: %d bans, latency node-a -> node-b kernel p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.0f bans/s through the fleet (%.2f s)"
      % (what, len(lat), p(0.5), p(0.99), lat[-1] / 1000, len(lat) / span, span))
' "$1" "$2" "$3" "$RIG_DAEMON_PID" "$B_PID"
}

# ---- paced: latency without a queue
for i in $(seq 0 $((N - 1))); do
	addrs "$i" 1 >>/var/log/a.log
	sleep 0.005
done
rig_wait_until 60 b_count_v6 "$N"
report paced 0 "$N"

# ---- a burst: throughput
addrs "$N" "$N" >>/var/log/a.log
rig_wait_until 120 b_count_v6 $((2 * N))
report burst "$N" "$N"

# ---- catch-up of a node that missed M bans
stop_b
before=$(date +%s%N)
addrs $((2 * N)) "$M" >>/var/log/a.log
# polled every 50 ms on a host of two cores: without a python3 each time, which would take a
# good part of a core from the nodes it measures
status_num() { # SOCKET KEY: a number of a node's status --json (unique keys only)
	"$NFTJAIL" --socket "$1" status --json | sed -n "s/^ *\"$2\": \([0-9]*\),*\$/\1/p"
}
a_published_ge() { [ "$(status_num "$RIG_SOCK" published)" -ge "$1" ]; } # node-a's fleet "published" counter
rig_wait_until 600 a_published_ge $((2 * N + M))
rig_wait_until 600 outbox_is 0
after=$(date +%s%N)
rig_note "node-a: $M bans banned and published in $(((after - before) / 1000000)) ms (node-b down)"
start_b --log-target journal
t0=$(date +%s%N)
b_has_received() { [ "$(status_num "$SOCK_B" received)" -ge "$1" ]; }
rig_wait_until 600 b_has_received "$M"
t1=$(date +%s%N)
# the daemon's count of the elements the kernel took for it this run (cheap; the fleet's bans of
# its previous run are not in it); listing 100,000 elements to poll would slow the node it
# measures: the kernel's listing checks the count once, at the end
b_live_ge() { [ "$(status_num "$SOCK_B" elements_live)" -ge "$1" ]; }
rig_wait_until 600 b_live_ge "$M"
t2=$(date +%s%N)
b_count_v6 $((2 * N + M)) || fail "node-b's kernel does not hold the $((2 * N + M)) bans"
echo "catch-up: node-b applied the $M bans it missed $(((t1 - t0) / 1000000)) ms after its start, all in its kernel after $(((t2 - t0) / 1000000)) ms"
stop_b
rig_stop_daemon
