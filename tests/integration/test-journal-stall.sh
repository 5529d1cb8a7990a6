#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An entry that journald has counted in the file's header but not yet linked into its fields'
# entry arrays when the journal source reads (a read while journald appends; the poll makes it
# likely): sd-journal then answers "nothing new" for that file until its entry count changes, so
# unless the source searches again, the entry is read only when journald appends another one —
# never, if it was an attacker's last failure and nothing else is written (a lost ban, about 1
# run in 8 of cmp-latency lat-journal). The moment is made exactly with two copies of the
# private journald's file, before and after an append (journal-stall.c); no timing involved.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

STALL=$BUILDDIR/tests/integration/journal-stall
[ -x "$STALL" ] || fail "$STALL is missing: build first"
mid=$(cat /etc/machine-id)
J=/run/log/journal/$mid/system.journal
[ -f "$J" ] || fail "no $J from the private journald"

# send MESSAGE... : native journal entries of identifier nftjail-stall
send() {
	"$RIG_PY" - "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
for m in sys.argv[1:]:
    s.send(b"MESSAGE=%s\nSYSLOG_IDENTIFIER=nftjail-stall\n" % m.encode())
PY
}
count() { journalctl -q --no-pager -o cat SYSLOG_IDENTIFIER=nftjail-stall | wc -l; }
has() { [ "$(count)" = "$1" ]; }

send "Failed password for root from 192.0.2.1 port 40000 ssh2" "Failed password for root from 192.0.2.1 port 40001 ssh2"
rig_wait_until 10 has 2
cp "$J" "$RIG_TMP/before.journal"
send "Failed password for root from 192.0.2.1 port 40002 ssh2"
rig_wait_until 10 has 3
cp "$J" "$RIG_TMP/after.journal"

# the source reads only our file: a mount namespace of its own with an empty journal directory
unshare -m --propagation private -- "$BASH" -c '
	set -e
	mount -t tmpfs tmpfs /run/log/journal
	mount -t tmpfs tmpfs /var/log/journal
	mkdir -p /run/log/journal/$1
	exec "$2" "$3" "$4" /run/log/journal/$1/system.journal SYSLOG_IDENTIFIER=nftjail-stall
' _ "$mid" "$STALL" "$RIG_TMP/before.journal" "$RIG_TMP/after.journal" ||
	fail "the entry journald was appending during a read was never read"
echo "ok: an entry counted but not yet linked during a read is read once the append completes"
