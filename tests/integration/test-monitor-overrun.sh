#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The nf_tables monitor socket overruns (ENOBUFS): the daemon resynchronises by listing the sets.
# The daemon is stopped (SIGSTOP) while 150,000 elements are added and the daemon's own three bans
# are deleted by hand, so the notifications cannot all fit its receive buffer; after SIGCONT it
# must say it resynchronises, put its bans back (deletions lost in an overrun cannot be told
# from a flush, so the bans still due are re-applied), and keep working: a new ban still lands.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
ipv6_prefix = 128
CONF
rig_start_daemon --log-target journal
for a in 192.0.2.10 192.0.2.11 192.0.2.12; do
	rig_ctl ban sshd "$a" >/dev/null || fail "manual ban of $a failed"
done
banned() { rig_nft_has "^$1 tcp 22 " v4_port; }
for a in 192.0.2.10 192.0.2.11 192.0.2.12; do banned "$a" || fail "$a not banned"; done

# 150,000 filler elements (203.0.113.0/24 x 586 ports, comment "filler") and the
# deletion of our three bans, in one transaction while the daemon cannot read
"$RIG_PY" - >"$RIG_TMP/overrun.nft" <<'PY'
print("add element inet nftjail v4_port {")
print(",\n".join(f"  203.0.113.{i % 256} . tcp . {1000 + i // 256} timeout 1h comment \"filler\"" for i in range(150000)))
print("}")
print("delete element inet nftjail v4_port { 192.0.2.10 . tcp . 22, 192.0.2.11 . tcp . 22, 192.0.2.12 . tcp . 22 }")
PY
kill -STOP "$RIG_DAEMON_PID"
rig_nft -f "$RIG_TMP/overrun.nft" || { kill -CONT "$RIG_DAEMON_PID"; fail "nft -f failed"; }
banned 192.0.2.10 && { kill -CONT "$RIG_DAEMON_PID"; fail "the hand deletion did not happen"; }
kill -CONT "$RIG_DAEMON_PID"

overran() { rig_journal_has _PID="$RIG_DAEMON_PID" "MESSAGE=nf_tables notifications overran the monitor socket; resynchronising"; }
rig_wait_until 20 overran
# the bans still due are back, the daemon is alive and still bans
back() { banned 192.0.2.10 && banned 192.0.2.11 && banned 192.0.2.12; }
rig_wait_until 20 back
rig_daemon_alive || fail "daemon died after the overrun"
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 4000$i ssh2"; done
rig_wait_until 10 banned 192.0.2.66
# the resync listed the sets: what it found and what it put back is in one line
# (grep without -q: under pipefail, -q quitting early would fail journalctl with SIGPIPE)
rig_journal_json _PID="$RIG_DAEMON_PID" | grep 'ruleset changed: restored 3 bans' >/dev/null ||
	fail "the resync did not restore exactly the 3 bans deleted during the overrun"
rig_ctl ping >/dev/null || fail "control socket dead after the overrun"
rig_stop_daemon
echo ok
