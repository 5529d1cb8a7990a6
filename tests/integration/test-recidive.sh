#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped recidive jail, enabled: it reads nftjaild's own ban events from the journal and bans
# a repeat offender on every port for a week. A forged ban event does not count, nor do the
# recidive jail's own bans.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 1
bantime = 1h

[recidive]
enabled = true
maxretry = 2
CONF
rig_nft_load
# the daemon runs as nftjaild.service and logs to the journal, as under systemd
mkdir -p "$RIG_CG/system.slice/nftjaild.service"
echo "$BASHPID" >"$RIG_CG/system.slice/nftjaild.service/cgroup.procs"
rig_start_daemon --log-target journal
MID_BAN=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01

# a forged event, sent by a local user from a session: not a ban
mkdir -p "$RIG_CG/user.slice/session-1.scope"
(
	echo "$BASHPID" >"$RIG_CG/user.slice/session-1.scope/cgroup.procs"
	printf 'MESSAGE_ID=%s\nMESSAGE=sshd: banned 192.0.2.77 for 1h after 1 failures\nSYSLOG_IDENTIFIER=nftjaild\n' "$MID_BAN" |
		setpriv --reuid=65534 --regid=65534 --clear-groups -- logger --journald
)
rig_wait_until 5 rig_journal_has MESSAGE_ID=$MID_BAN "MESSAGE=sshd: banned 192.0.2.77 for 1h after 1 failures"
rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 40001 ssh2"
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 tcp 22 ' v4_port
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_BAN NFTJAIL_JAIL=sshd NFTJAIL_ADDR=192.0.2.66
# lifted by hand, then banned again: the second ban event is the second strike
rig_nft delete element inet nftjail v4_port '{ 192.0.2.66 . tcp . 22 }'
rig_wait_until 5 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b02 NFTJAIL_ADDR=192.0.2.66
rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 40002 ssh2"
rig_wait_until 10 rig_nft_has '^192\.0\.2\.66 - - 604800 ' v4
rig_wait_until 10 rig_journal_has MESSAGE_ID=$MID_BAN NFTJAIL_JAIL=recidive NFTJAIL_ADDR=192.0.2.66
rig_nft_has '^192\.0\.2\.77 ' v4 && fail "a forged ban event got an address banned"
# the recidive ban itself is not a strike: exactly one recidive ban, and no failure counted for it
rig_stop_daemon
[ "$(journalctl -q --no-pager -o cat MESSAGE_ID=$MID_BAN NFTJAIL_JAIL=recidive | wc -l)" = 1 ] ||
	fail "recidive banned more than once"
[ "$(journalctl -q --no-pager -o cat MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04 NFTJAIL_JAIL=recidive | wc -l)" = 2 ] ||
	fail "recidive counted $(journalctl -q --no-pager -o cat MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04 NFTJAIL_JAIL=recidive | wc -l) strikes, want 2"
echo ok
