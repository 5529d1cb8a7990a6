#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "nftjail unban --all" on a table larger than one netlink transaction while elements expire
# under it: 140,544 elements in v4_port (the 768 addresses of the three documentation /24s x 183
# ports), one in ten with a timeout of 5-16 s. The unban starts when the first of those are due,
# so elements keep expiring between the listing and the delete (and during the dump, which then
# skips live ones). It must finish (bounded wait), leave no element, count every element that was
# still due, and log one unban event per address; the daemon must still ban afterwards. The seconds it took are printed, not asserted.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
rig_start_daemon --log-target journal

N=140544
"$RIG_PY" - "$N" >"$RIG_TMP/large.nft" <<'PY'
import sys
n = int(sys.argv[1])
nets = ("192.0.2", "198.51.100", "203.0.113")
out = []
for i in range(n):
    a = "%s.%d" % (nets[i % 768 // 256], i % 256)
    port = 1000 + i // 768
    t = "%ds" % (5 + i * 7 % 12) if i % 10 == 0 else "1h"
    out.append('  %s . tcp . %d timeout %s comment "sshd"' % (a, port, t))
print("add element inet nftjail v4_port {")
print(",\n".join(out))
print("}")
PY
short=$("$RIG_PY" -c "import sys; n = int(sys.argv[1]); print(sum(1 for i in range(n) if i % 10 == 0))" "$N")
rig_nft -f "$RIG_TMP/large.nft" || fail "nft -f of $N elements failed"
loaded=$(date +%s.%N)
# the first short timeouts end 5 s after the load
"$RIG_PY" -c "import sys, time; time.sleep(max(0.0, float(sys.argv[1]) + 5.2 - time.time()))" "$loaded"

t0=$(date +%s.%N)
rc=0
out=$(timeout 130 "$NFTJAIL" --socket "$RIG_SOCK" --json unban --all 2>&1) || rc=$?
t1=$(date +%s.%N)
secs=$("$RIG_PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1")
echo "unban --all of $N elements ($short expiring 5-16 s after the load): $secs s"
[ "$rc" = 0 ] || fail "unban --all did not finish within 120 s (exit $rc): $out"

# every element still due when the unban ran is counted; none is counted twice
n=$("$RIG_PY" -c "import json, sys; d = json.loads(sys.argv[1]); assert d['ok'] is True, d; print(d['unbanned'])" "$out")
[ "$n" -ge $((N - short)) ] && [ "$n" -le "$N" ] || fail "unbanned $n elements, want $((N - short))..$N"
left=$(rig_nft_elements v4_port | wc -l)
[ "$left" = 0 ] || fail "$left elements left in v4_port"

# one unban event per address, with its jail (journald may still be writing the last ones)
unban_events() {
	rig_journal_json _PID="$RIG_DAEMON_PID" MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b02 >"$RIG_TMP/unban.json"
	"$RIG_PY" - "$RIG_TMP/unban.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((e.get("NFTJAIL_JAIL"), e.get("NFTJAIL_ADDR")) for e in ev)
want = sorted(("sshd", "%s.%d" % (net, i)) for net in ("192.0.2", "198.51.100", "203.0.113") for i in range(256))
if got != want:
    sys.exit("%d unban events, want one for each of the 768 addresses; first: %s" % (len(got), got[:3]))
PY
}
rig_wait_until 10 unban_events

# the loop is free again: a ban still lands
rig_ctl ban sshd 192.0.2.7 >/dev/null || fail "ban after the unban failed"
rig_nft_has '^192\.0\.2\.7 tcp 22 ' v4_port || fail "ban after the unban not in the kernel"
rig_stop_daemon
echo ok
