#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A burst stays answerable: 100,000 sshd failure lines from as many addresses (each in a /64 of its
# own in 2001:db8::/32), written to a log file at once, maxretry 1, so that 100,000 bans are
# decided. While they are read and applied, `nftjail status --json` is asked in a loop; the replies
# must show the burst mid-way, twice over:
#   - the file read in batches (the adaptive file batch, FILE_BATCH_*): a reply that counts some of
#     the failures but not all;
#   - the bans applied a chunk per loop iteration (FLUSH_CHUNK, pending_on_flush()): the reading
#     outruns the kernel, so once every failure is counted bans are still queued, and the status
#     is answered between two chunks: at least two replies with all failures counted and two
#     different ban counts, both short of the total. With the whole queue applied in one dispatch
#     there is one such reply at most (between the last read and the one flush that follows).
# States observed, not times; the end (every ban in the kernel) is waited for with a bound.
# Checked: with FLUSH_CHUNK unlimited it fails (0 ban counts seen after the read), and with the
# file batch unbounded (64 MiB) too (0 replies while the file was read). It does not cover the
# journal drain's bound (SOURCE_DRAIN_USEC / SOURCE_DRAIN_MAX): test-journal-burst-responsive does.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

N=${BURST_LINES:-100000}
LOG=/var/log/auth.log
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
backend = auto
logpath = $LOG
maxretry = 1
findtime = 1h
bantime = 1h
CONF
: >"$LOG"
rig_start_daemon --log-target journal

"$RIG_PY" - "$LOG" "$N" <<'PY'
import sys, time
path, n = sys.argv[1], int(sys.argv[2])
stamp = time.strftime("%b %e %H:%M:%S")
lines = "".join("%s bastion sshd[%d]: Failed password for root from 2001:db8:%x:%x::1 port %d ssh2\n"
                % (stamp, 1000 + i % 30000, i >> 16, i & 0xffff, 1024 + i % 60000) for i in range(n))
with open(path, "a") as f:  # one write: the whole burst is there at once
    f.write(lines)
PY

# the replies, one a line: failures counted, bans applied (the jail's)
rig_status_replies sshd "$N" 50 >"$RIG_TMP/replies"
rig_daemon_alive || fail "nftjaild died"
rig_note "$(wc -l <"$RIG_TMP/replies") status replies during the burst"
grep -q '^error' "$RIG_TMP/replies" && fail "status failed during the burst: $(grep -c '^error' "$RIG_TMP/replies") times"
last=$(tail -1 "$RIG_TMP/replies")
[ "$last" = "$N $N" ] || fail "the burst did not end with $N failures and $N bans in 50 s: last reply '$last'"
# every one in the kernel (IPv6 /64s)
[ "$(rig_nft_elements v6_port_64 | grep -c '^2001:db8:')" = "$N" ] || fail "want $N elements in v6_port_64"

# Under ASan matching is several times slower while the kernel's apply is not: the flush keeps up
# with the reading, the queue never holds more than a chunk, and the flush's chunks cannot be
# seen (in CI: 226 replies, 225 while the file was read, 0 after). The check of the chunks is made
# on the optimised build only; the reading in batches is checked in both.
sanitized=0
readelf -d "$NFTJAILD" 2>/dev/null | grep -q 'NEEDED.*libasan' && sanitized=1
[ "$sanitized" = 0 ] || rig_note "ASan build: the flush's chunks are not checked (the reading is the slower)"
"$RIG_PY" - "$RIG_TMP/replies" "$N" "$sanitized" <<'PY' || fail "the burst was not observed mid-way"
import sys
n = int(sys.argv[2])
sanitized = sys.argv[3] == "1"
r = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
reading = [x for x in r if 0 < x[0] < n]
applying = sorted({b for f, b in r if f == n and 0 < b < n})
print("# %d replies; %d while the file was read; ban counts seen after it was read, short of %d: %d (%s)"
      % (len(r), len(reading), n, len(applying), " ".join(map(str, applying[:8]))), file=sys.stderr)
assert reading, "no reply counted part of the failures: the file was read in one go"
assert sanitized or len(applying) >= 2, "fewer than two replies between the chunks of the flush: the queue was applied at once"
PY
rig_stop_daemon
echo ok
