#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Jails that share a port share the kernel element: a second ban of an address keeps the longer
# remaining time. Three jails on port 22 read the same lines: sshd (2 failures -> 1h),
# sshd-short (3 -> 20s), sshd-long (4 -> 2h).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h

[sshd-short]
enabled = true
filter = sshd
port = ssh
maxretry = 3
bantime = 20s

[sshd-long]
enabled = true
filter = sshd
port = ssh
maxretry = 4
bantime = 2h
CONF
rig_start_daemon --log-target journal

timeout_of() { rig_nft_elements v4_port | awk -v a="$1" '$1 == a && $3 == 22 {print $4}'; }
has_timeout() { [ "$(timeout_of "$1")" = "$2" ]; }
msg() { rig_journal_has SYSLOG_IDENTIFIER=nftjaild "MESSAGE=$1"; }
f() { rig_log ssh.service sshd "Failed password for root from $1 port 4000$2 ssh2"; }

# one line at a time
f 192.0.2.66 1
f 192.0.2.66 2
rig_wait_until 10 has_timeout 192.0.2.66 3600
f 192.0.2.66 3
rig_wait_until 10 msg "sshd-short: 192.0.2.66 is banned already, for longer"
has_timeout 192.0.2.66 3600 || fail "the 20s ban shortened the 1h ban: $(timeout_of 192.0.2.66)"
f 192.0.2.66 4
rig_wait_until 10 has_timeout 192.0.2.66 7200
[ "$(rig_nft_elements v4_port | grep -c '^192\.0\.2\.66 ')" = 1 ] || fail "want one element for 192.0.2.66"

# a burst: all four lines at once may land in one flush; the longest ban still wins
rig_log ssh.service sshd "Failed password for root from 192.0.2.77 port 40001 ssh2"
rig_log ssh.service sshd "Failed password for root from 192.0.2.77 port 40002 ssh2"
rig_log ssh.service sshd "Failed password for root from 192.0.2.77 port 40003 ssh2"
rig_log ssh.service sshd "Failed password for root from 192.0.2.77 port 40004 ssh2"
rig_wait_until 10 has_timeout 192.0.2.77 7200
rig_wait_until 10 rig_journal_has NFTJAIL_JAIL=sshd-short NFTJAIL_ADDR=192.0.2.77 NFTJAIL_FAILURES=3
has_timeout 192.0.2.77 7200 || fail "192.0.2.77: $(timeout_of 192.0.2.77), want 7200"
rig_stop_daemon
echo ok
