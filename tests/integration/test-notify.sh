#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The sd_notify protocol as systemd sees it (issue 15): a datagram socket in NOTIFY_SOCKET, read
# by a listener of our own as PID 1 would. READY=1 with a STATUS= naming the jails; STATUS=
# kept current as bans land (the elements in the kernel); RELOADING=1 with MONOTONIC_USEC, then
# READY=1, around a SIGHUP; STOPPING=1 at SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

sock=$RIG_TMP/notify.sock
"$RIG_PY" - "$sock" "$RIG_TMP/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as out:
    while True:
        msg = s.recv(65536).decode(errors="replace")
        out.write(msg.replace("\n", " | ") + "\n")
        out.flush()
PY
_rig_track_pid "$!"
rig_wait_until 10 test -S "$sock"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
rig_nft_load
NOTIFY_SOCKET=$sock rig_start_daemon
rig_wait_until 10 grep -q "^READY=1" "$RIG_TMP/notify.log"
rig_wait_until 10 grep -q "^STATUS=1 jail(s), 0 ban element(s) in the kernel$" "$RIG_TMP/notify.log"
for a in 192.0.2.31 192.0.2.32; do
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from $a port 4000$i ssh2"; done
done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.32 tcp 22 ' v4_port
rig_wait_until 10 rig_nft_has '^192\.0\.2\.31 tcp 22 ' v4_port
# within a second of the last ban (the once-a-second limit puts the last one off, not away)
rig_wait_until 10 grep -q "^STATUS=1 jail(s), 2 ban element(s) in the kernel$" "$RIG_TMP/notify.log"

kill -HUP "$RIG_DAEMON_PID"
rig_wait_until 10 grep -q "^RELOADING=1 | MONOTONIC_USEC=[0-9]*$" "$RIG_TMP/notify.log"
ready_after_reload() { grep -A3 "^RELOADING=1" "$RIG_TMP/notify.log" | grep -q "^READY=1$"; }
rig_poll 10 ready_after_reload || fail "no READY=1 after RELOADING=1: $(cat "$RIG_TMP/notify.log")"
rig_stop_daemon
# the listener writes what it reads a moment later
rig_poll 10 grep -q "^STOPPING=1$" "$RIG_TMP/notify.log" || fail "no STOPPING=1: $(cat "$RIG_TMP/notify.log")"
rig_note "$(tr '\n' ' ' <"$RIG_TMP/notify.log")"
echo ok
