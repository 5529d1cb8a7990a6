#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The restore at start is not seen through the daemon's own nf_tables monitor: with 100,000 bans
# in the state and an empty table, the kernel's notification of every added element used to
# overrun the monitor socket, and the resync that followed listed every set again. The monitor
# now leaves its group for the restore, and the ruleset generation id tells whether anyone else
# committed meanwhile.
# 1. a start restoring 100,001 bans: no overrun, no resync (before, 100,000 overran the 16 MiB
#    socket; 50,000 did not);
# 2. the same start while one ban is deleted by hand just before the monitor joins its group
#    again (join-hook.so, LD_PRELOAD: unseen by the monitor, after the restore's listing): the
#    daemon notices by the generation id, resynchronises and puts that ban back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
HOOK=$BUILDDIR/tests/integration/join-hook.so
[ -f "$HOOK" ] || fail "$HOOK missing"
N6=100000

rig_conf_dir
printf '[sshd]\nenabled = true\nport = 22\nbantime = 1h\n' >"$RIG_CONF/jail.d/test.local"
# the state: made by the daemon, filled with sqlite3 (as tests/bench/cmp-nft-restore.sh does)
rig_nft_load
rig_start_daemon
rig_stop_daemon
now=$(date +%s)
sqlite3 "$RIG_STATE/nftjail.db" "
BEGIN;
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures) VALUES ('192.0.2.10', 32, 'sshd', $now, $now + 3600, 5);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N6 - 1)
INSERT INTO bans(addr, prefixlen, jail, start, \"end\", failures)
SELECT printf('2001:db8:%x:%x::', i / 65536, i % 65536), 64, 'sshd', $now, $now + 3600, 5 FROM n;
COMMIT;"
banned() { rig_nft_has '^192\.0\.2\.10 tcp 22 ' v4_port; }
log_has() { tail -n +"$((RIG_DAEMON_LOG_START + 1))" "$RIG_TMP/daemon.log" | grep -q -- "$1"; }
restored() { log_has "^start: restored $((N6 + 1)) bans"; }

# 1. nothing else happens: not a notification of our own reaches the monitor
rig_nft delete table inet nftjail
rig_nft_load
rig_start_daemon
rig_wait_until 120 restored
banned || fail "192.0.2.10 not restored"
# the monitor joined again before the start line; let it read what it got
rig_ctl ping >/dev/null || fail "control socket dead"
sleep 1
log_has 'overran the monitor socket' && fail "the start's own notifications overran the monitor"
log_has 'changed during the restore' && fail "a resync for a change nobody made"
log_has '^ruleset changed' && fail "a resync after the start"
rig_stop_daemon

# 2. a deletion the monitor cannot see
rig_nft delete table inet nftjail
rig_nft_load
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
LD_PRELOAD=$HOOK NFTJAIL_TEST_BEFORE_JOIN="nft delete element inet nftjail v4_port '{ 192.0.2.10 . tcp . 22 }'" \
	rig_start_daemon
rig_wait_until 120 restored
rig_wait_until 30 log_has 'the ruleset changed during the restore'
rig_wait_until 30 log_has '^ruleset changed: restored 1 bans'
banned || fail "the ban deleted during the restore is not back"
log_has 'overran the monitor socket' && fail "the monitor overran"
rig_ctl ping >/dev/null || fail "control socket dead"
rig_stop_daemon
grep -E "restored|changed|overran" "$RIG_TMP/daemon.log" || true
echo ok
