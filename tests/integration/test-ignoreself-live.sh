#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ignoreself follows the host's addresses: one added after the daemon started is never banned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
ignoreself = true
CONF
rig_nft_load
rig_start_daemon --log-level debug
ip addr add 198.51.100.5/32 dev lo
ip addr add 2001:db8:5::5/128 dev lo
for a in 198.51.100.5 2001:db8:5::5 198.51.100.6; do
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from $a port 4000$i ssh2"; done
done
# the journal is read in order: once .6 is banned, the lines of the host's addresses were seen
rig_wait_until 10 rig_nft_has '^198\.51\.100\.6 tcp 22 ' v4_port
rig_nft_has '^198\.51\.100\.5 ' v4_port && fail "the host's new address 198.51.100.5 was banned"
rig_nft_has '^2001:db8:5:' v6_port && fail "the host's new address 2001:db8:5::5 was banned"
# and when the address goes, it may be banned again
ip addr del 198.51.100.5/32 dev lo
rig_wait_until 5 bash -c "! ip -o addr show dev lo | grep -q 198.51.100.5"
for i in 3 4; do rig_log ssh.service sshd "Failed password for root from 198.51.100.5 port 4000$i ssh2"; done
rig_wait_until 10 rig_nft_has '^198\.51\.100\.5 tcp 22 ' v4_port
rig_stop_daemon
echo ok
