#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nftjail status totals (bans, failures; per jail and in all) are read from the state: a restart
# goes on counting from where the last run stopped, and a reload keeps them (issue 15).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

J() { "$RIG_PY" -c "import json,sys; d=json.load(sys.stdin); $1"; }

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
rig_nft_load
rig_start_daemon
for a in 192.0.2.11 192.0.2.12; do
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from $a port 4000$i ssh2"; done
done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.12 tcp 22 ' v4_port
rig_wait_until 10 rig_nft_has '^192\.0\.2\.11 tcp 22 ' v4_port
rig_ctl status --json | J '
j = d["jails"][0]
assert d["bans_total"] == 2 and j["bans_total"] == 2 and j["failures_total"] == 4, d'
rig_stop_daemon

rig_start_daemon
rig_ctl status --json | J '
j = d["jails"][0]
assert d["bans_total"] == 2 and j["bans_total"] == 2 and j["failures_total"] == 4, d' ||
	fail "totals after a restart: $(rig_ctl status --json)"
rig_ctl status sshd | grep -q '|- Total banned:     2$' || fail "human status after a restart: $(rig_ctl status sshd)"
rig_ctl status sshd | grep -q '|  |- Total failed:     4$' || fail "human status after a restart: $(rig_ctl status sshd)"

# counting goes on from there
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 192.0.2.13 port 4000$i ssh2"; done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.13 tcp 22 ' v4_port
rig_ctl status --json | J '
j = d["jails"][0]
assert d["bans_total"] == 3 and j["bans_total"] == 3 and j["failures_total"] == 6, d' ||
	fail "totals after more bans: $(rig_ctl status --json)"
rig_ctl reload >/dev/null
rig_ctl status --json | J '
j = d["jails"][0]
assert j["bans_total"] == 3 and j["failures_total"] == 6, d' || fail "totals after a reload: $(rig_ctl status --json)"

# a crash (SIGKILL) keeps at least the bans, which are saved with each ban record
kill -KILL "$RIG_DAEMON_PID"
rig_wait_until 10 bash -c "! kill -0 $RIG_DAEMON_PID 2>/dev/null"
rig_start_daemon
rig_ctl status --json | J '
j = d["jails"][0]
assert j["bans_total"] == 3, d' || fail "bans total after SIGKILL: $(rig_ctl status --json)"
rig_stop_daemon
