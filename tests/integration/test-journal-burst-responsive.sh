#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A journal backlog stays answerable: N sshd failures from as many addresses (each a /64 of its own
# in 2001:db8::/32, maxretry 1) are written to the private journal while the daemon is stopped, so
# that it finds them all waiting when it starts again from its saved cursor. While it catches up,
# `nftjail status --json` is asked in a loop; the replies must show the catch-up mid-way: at least
# two different failure counts, both short of N. A drain of the journal is bounded by entries
# (SOURCE_DRAIN_MAX) and by time (SOURCE_DRAIN_USEC, the read and the commit it leads to), and the
# loop answers the socket between two drains; with the journal read to its end in one go there is
# no reply mid-way (checked: with both bounds lifted it fails, 0 counts mid-way of 36 replies).
# States observed, not times; the end (every ban in the kernel) is waited for
# with a bound. test-burst-responsive does the same for a log file.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

N=${BURST_LINES:-20000}
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
maxretry = 1
findtime = 1h
bantime = 1h
CONF
# a first start, one failure read (and banned), a stop: the daemon keeps its cursor after it
rig_start_daemon --log-target journal
rig_log ssh.service sshd "Failed password for root from 192.0.2.1 port 4000 ssh2"
rig_poll 10 rig_nft_has '^192\.0\.2\.1 tcp 22 ' v4_port || fail "the first failure was not banned"
rig_stop_daemon

"$RIG_PY" - "$N" >"$RIG_TMP/burst" <<'PY'
import sys
n = int(sys.argv[1])
sys.stdout.write("".join("Failed password for root from 2001:db8:%x:%x::1 port %d ssh2\n"
                         % (i >> 16, i & 0xffff, 1024 + i % 60000) for i in range(n)))
PY
rig_log_bulk ssh.service sshd "$RIG_TMP/burst"

rig_start_daemon --log-target journal
rig_status_replies sshd "$((N + 1))" 60 >"$RIG_TMP/replies"
rig_daemon_alive || fail "nftjaild died"
rig_note "$(wc -l <"$RIG_TMP/replies") status replies while the journal was read"
grep -q '^error' "$RIG_TMP/replies" && fail "status failed during the catch-up: $(grep -c '^error' "$RIG_TMP/replies") times"
last=$(tail -1 "$RIG_TMP/replies")
[ "$last" = "$((N + 1)) $((N + 1))" ] ||
	fail "the catch-up did not end with $((N + 1)) failures and bans in 60 s: last reply '$last'"
[ "$(rig_nft_elements v6_port_64 | grep -c '^2001:db8:')" = "$N" ] || fail "want $N elements in v6_port_64"

"$RIG_PY" - "$RIG_TMP/replies" "$N" <<'PY' || fail "the catch-up was not observed mid-way"
import sys
n = int(sys.argv[2]) + 1
r = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
reading = sorted({f for f, b in r if 1 < f < n})
print("# %d replies; failure counts seen short of %d: %d (%s)"
      % (len(r), n, len(reading), " ".join(map(str, reading[:8]))), file=sys.stderr)
assert len(reading) >= 2, "fewer than two replies while the journal was read: it was drained in one go"
PY
rig_stop_daemon
echo ok
