#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The proxmox jail: three pvedaemon failures ban the address on 443, 80 and 8006 (comment
# proxmox, timeout 1h); the attacker can no longer connect to 8006 but still reaches 22.
# Each unit counts only under the uid it logs as: the same lines from a www-data process
# inside pvedaemon.service are forged and ban nothing, while pveproxy's own uid (33) counts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = false

[proxmox]
enabled = true
maxretry = 3
bantime = 3600
CONF
rig_attacker_ns
rig_listen 22 8006
rig_start_daemon

rig_connect 192.0.2.1 8006 || fail "attacker cannot reach 8006 before the ban"
for i in 1 2 3; do
	rig_log pvedaemon.service pvedaemon 33 "authentication failure; rhost=192.0.2.77 user=root@pam msg=forged"
done
for i in 1 2 3; do
	rig_log pveproxy.service pveproxy 33 "authentication failure; rhost=192.0.2.88 user=root@pam msg=Authentication failure"
done
for i in 1 2 3; do
	rig_log pvedaemon.service pvedaemon "authentication failure; rhost=192.0.2.66 user=root@pam msg=Authentication failure"
done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 8006 ' v4_port
# the journal is read in order: the forged lines came before the ones that banned .66
rig_wait_until 10 rig_nft_has '^192\.0\.2\.88 tcp 8006 ' v4_port
! rig_nft_has '^192\.0\.2\.77 ' v4_port || fail "a www-data process in pvedaemon.service got 192.0.2.77 banned"
elements=$(rig_nft_elements v4_port)
rig_note "$elements"
for port in 443 80 8006; do
	line=$(echo "$elements" | grep "^192.0.2.66 tcp $port ") || fail "no element for port $port"
	timeout=$(echo "$line" | awk '{print $4}')
	[ "$timeout" = 3600000 ] || [ "$timeout" = 3600 ] || fail "port $port: timeout $timeout, want 1h"
	echo "$line" | grep -q ' proxmox$' || fail "port $port: comment is not proxmox: $line"
done
[ "$(echo "$elements" | grep -c '^192.0.2.66 ')" = 3 ] || fail "want exactly 3 elements for 192.0.2.66"

rig_connect 192.0.2.1 8006 && fail "banned attacker still connects to 8006"
rig_connect 192.0.2.1 22 || fail "banned attacker must still reach 22 (not in the jail's ports)"
rig_stop_daemon
echo "ok"
