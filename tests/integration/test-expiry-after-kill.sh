#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A ban with a 2 s bantime expires in the kernel even though the daemon was killed with SIGKILL
# right after banning: nothing in userspace has to be alive for a ban to end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 2s
CONF
rig_attacker_ns
rig_listen 22
rig_start_daemon
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 4000$i ssh2"; done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 ' v4_port
# kill at once: the element lives 2 s, and a blocked connect attempt alone would take that long
rig_kill_daemon
rig_daemon_alive && fail "daemon still alive after SIGKILL"
rig_nft_has '^192\.0\.2\.66 tcp 22 ' v4_port || fail "ban vanished with the daemon"
# expiry is the kernel's job: wait (bounded) for the element to go
gone() { ! rig_nft_has '^192\.0\.2\.66 ' v4_port; }
rig_wait_until 10 gone
rig_connect 192.0.2.1 22 || fail "attacker still blocked after the ban expired"
echo "ok"
