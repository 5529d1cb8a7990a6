#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The reader of the daemon's stderr goes away ("nftjaild -f 2>&1 | head"): the daemon must not die
# of SIGPIPE. It runs with stderr into a fifo whose reader takes the first line and exits; then
# failures from the journal (each one logged) must still ban, and the daemon must still answer.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
CONF

fifo=$RIG_TMP/stderr.fifo
mkfifo -m 0600 "$fifo"
# the reader: one line, then gone (head exits, the pipe has no reader left)
head -n 1 <"$fifo" >"$RIG_TMP/first-line" &
reader=$!
"$NFTJAILD" --foreground --config-dir "$RIG_CONF" --state-dir "$RIG_STATE" --socket "$RIG_SOCK" \
	--log-target stderr --log-level debug </dev/null >/dev/null 2>"$fifo" &
RIG_DAEMON_PID=$!
wait "$reader" || fail "the stderr reader failed"
rig_note "the reader of stderr read '$(cat "$RIG_TMP/first-line")' and exited"
rig_poll 15 test -S "$RIG_SOCK" ||
	fail "no control socket (daemon alive: $(rig_daemon_alive && echo yes || echo "no, status $(wait "$RIG_DAEMON_PID"; echo $?)"))"

# each failure, the ban and the control commands are logged: writes to a pipe without a reader
for i in 1 2 3; do
	rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 4002$i ssh2"
done
rig_poll 10 rig_nft_has '^192\.0\.2\.66 tcp 22 ' v4_port ||
	fail "no ban after the reader of stderr went away (daemon alive: $(rig_daemon_alive && echo yes || echo no))"
rig_daemon_alive || fail "nftjaild died"
out=$(rig_ctl ping 2>&1) || fail "ping failed after the reader of stderr went away: $out"
rig_ctl ban sshd 192.0.2.67 >/dev/null || fail "manual ban failed"
rig_nft_has '^192\.0\.2\.67 tcp 22 ' v4_port || fail "manual ban not in the kernel"
rig_daemon_alive || fail "nftjaild died"
rig_stop_daemon
echo ok
