#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A daemon without [fleet] never maps libnats nor the OpenSSL it pulls in (libssl, libcrypto):
# the fleet dlopen()s nats.c when it starts (src/fleet/fleet-nats.h); linked, they cost an idle
# daemon with 10 jails 1.8 MiB of RSS, 0.75 MiB of PSS, 0.5 MiB of anonymous memory. Checked in /proc/PID/maps once the daemon has banned (its loop ran, jail, state and
# kernel set at work), after a reload, and with [fleet] present but disabled. test-fleet checks the
# other side: a node with [fleet] maps libnats, and a libnats that cannot be loaded is one clear
# error. Also the ELF: nftjaild's NEEDED has neither (tests/package/check-linked.sh, without root).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

needed=$(readelf -d "$NFTJAILD" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
[ -n "$needed" ] || fail "no NEEDED entries read from $NFTJAILD"
! grep -E '^lib(nats|ssl|crypto)\.so' <<<"$needed" || fail "nftjaild links libnats or OpenSSL"

unwanted_maps() { grep -oE '/[^ ]*lib(nats|ssl|crypto)\.so[^ ]*' "/proc/$RIG_DAEMON_PID/maps" | sort -u || true; }
check_maps() { # WHEN
	local m
	m=$(unwanted_maps)
	[ -z "$m" ] || fail "$1: nftjaild maps $(tr '\n' ' ' <<<"$m")"
	rig_note "$1: no libnats, libssl or libcrypto in /proc/$RIG_DAEMON_PID/maps ($(wc -l <"/proc/$RIG_DAEMON_PID/maps") mappings)"
}

rig_conf_dir
printf '[sshd]\nenabled = true\nmaxretry = 1\nbantime = 10m\n' >"$RIG_CONF/jail.d/test.local"
rig_start_daemon --log-target journal
rig_log ssh.service sshd "Failed password for root from 192.0.2.61 port 40022 ssh2"
rig_wait_until 10 rig_nft_has '^192\.0\.2\.61 tcp 22 ' v4_port
check_maps "idle, after a ban"

# [fleet] written but not enabled: still nothing loaded, also across a reload
cat >>"$RIG_CONF/nftjail.local" <<CONF
[fleet]
enabled = false
url = nats://192.0.2.1:4222
name = node-a
CONF
rig_ctl reload >/dev/null || fail "reload failed"
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b08
rig_log ssh.service sshd "Failed password for root from 192.0.2.62 port 40022 ssh2"
rig_wait_until 10 rig_nft_has '^192\.0\.2\.62 tcp 22 ' v4_port
check_maps "after a reload with [fleet] enabled = false"
rig_stop_daemon
echo "ok"
