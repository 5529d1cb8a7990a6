#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A flood, small: 50,000 sshd failure lines from 10,000 distinct addresses (760 IPv4, the rest in
# 2001:db8::/32: the documentation ranges hold no more IPv4 hosts), shuffled, through a log file,
# maxretry 3, while a legitimate user logs in (2 failed passwords in all, and accepted ones).
# Exactly the addresses that reached maxretry are in the kernel, and the legitimate one is not.
# Outcomes only; the figures are bench-flood.sh's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

LOG=/var/log/auth.log
rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
backend = auto
logpath = $LOG
maxretry = 3
findtime = 1h
bantime = 1h
CONF
: >"$LOG"
rig_start_daemon --log-target journal

"$RIG_PY" "$RIG_LIBDIR/flood.py" feed --mode file --out "$LOG" --lines "${FLOOD_LINES:-50000}" \
	--addresses "${FLOOD_ADDRESSES:-10000}" --maxretry 3 --seed 3 --expect "$RIG_TMP/expect" 2>/dev/null
# the sentinel's ban comes after every other line of the file
rig_wait_until 120 rig_nft_has '^203\.0\.113\.254 tcp 22 ' v4_port
rig_wait_until 30 rig_file_caught_up sshd "$LOG"
rig_daemon_alive || fail "nftjaild died"
rig_nft_elements >"$RIG_TMP/elements"
out=$("$RIG_PY" "$RIG_LIBDIR/flood.py" check --expect "$RIG_TMP/expect" --elements "$RIG_TMP/elements") ||
	fail "the kernel's bans differ from the addresses that reached maxretry: $out"
rig_note "$out"
rig_stop_daemon
