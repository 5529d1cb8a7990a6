#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The acceptance case of log files: the filter and jail files of a fail2ban guide, copied as
# they are, read /var/log/daemon.log (backend auto + logpath). Three pvedaemon failures appended
# to it ban the address on 443, 80 and 8006 for one hour. The file exists before the daemon
# starts, so what it held then is not read (a failure in it must not count).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

rig_conf_dir
cat >"$RIG_CONF/filter.d/proxmox.conf" <<'CONF'
[Definition]
failregex = pvedaemon\[.*authentication failure; rhost=<HOST> user=.* msg=.*
ignoreregex =
CONF
cat >"$RIG_CONF/jail.d/proxmox.conf" <<'CONF'
[proxmox]
enabled = true
port = https,http,8006
filter = proxmox
logpath = /var/log/daemon.log
maxretry = 3
bantime = 3600
action = %(action_)s
CONF
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = false
CONF

line() {
	printf '%s pve pvedaemon[1234]: authentication failure; rhost=%s user=root@pam msg=Authentication failure\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1"
}
# old content, read by no one: with two more failures 203.0.113.5 must not be banned yet
line 203.0.113.5 >/var/log/daemon.log
rig_start_daemon --log-target journal
"$NFTJAILD" --test-config --config-dir "$RIG_CONF" 2>&1 | grep -q 'logpath: /var/log/daemon.log' ||
	fail "--test-config does not show the logpath"

line 203.0.113.5 >>/var/log/daemon.log
line 203.0.113.5 >>/var/log/daemon.log
rig_wait_until 10 rig_failures_ge proxmox 203.0.113.5 2
rig_nft_has '^203\.0\.113\.5 ' v4_port && fail "banned after 2 new failures: the old line was counted"
line 203.0.113.5 >>/var/log/daemon.log
rig_wait_until 10 rig_nft_has '^203\.0\.113\.5 tcp 8006 ' v4_port
elements=$(rig_nft_elements v4_port)
rig_note "$elements"
for port in 443 80 8006; do
	l=$(echo "$elements" | grep "^203.0.113.5 tcp $port ") || fail "no element for port $port"
	timeout=$(echo "$l" | awk '{print $4}')
	[ "$timeout" = 3600000 ] || [ "$timeout" = 3600 ] || fail "port $port: timeout $timeout, want 1h"
	echo "$l" | grep -q ' proxmox$' || fail "port $port: comment is not proxmox: $l"
done
[ "$(echo "$elements" | grep -c '^203.0.113.5 ')" = 3 ] || fail "want exactly 3 elements for 203.0.113.5"
[ "$(rig_failures proxmox 203.0.113.5)" = 3 ] || fail "want 3 failure events"

# a failure older than findtime (10m) when read does not count; a partial line waits for its newline
printf '%s pve pvedaemon[1]: authentication failure; rhost=198.51.100.7 user=a msg=x\n' \
	"$(LC_ALL=C date -d '-2 hours' '+%b %e %H:%M:%S')" >>/var/log/daemon.log
# one write: a complete line (the sign that the daemon read this far) and a partial one
{
	line 198.51.100.9
	printf '%s pve pvedaemon[1]: authentication failure; rhost=198.51.100.8 user=a' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')"
} >>/var/log/daemon.log
rig_wait_until 10 rig_failures_ge proxmox 198.51.100.9 1
[ "$(rig_failures proxmox 198.51.100.8)" = 0 ] || fail "a partial line was matched"
printf ' msg=x\n' >>/var/log/daemon.log
rig_wait_until 10 rig_failures_ge proxmox 198.51.100.8 1
[ "$(rig_failures proxmox 198.51.100.7)" = 0 ] || fail "a failure older than findtime counted"
[ -n "$(sqlite3 "$RIG_STATE/nftjail.db" "select data from positions where jail = 'proxmox' and source = 'files'")" ] ||
	fail "no saved file positions"
# status names the file the jail reads, and counts its lines
rig_ctl --json status proxmox >"$RIG_TMP/status.json" || fail "status proxmox failed"
"$RIG_PY" - "$RIG_TMP/status.json" <<'PY' || fail "status: the file source is not shown: $(cat "$RIG_TMP/status.json")"
import json, sys
r = json.load(open(sys.argv[1]))
j = r["jail"] if "jail" in r else r
src = [s for s in j["sources"] if s["type"] == "file"]
assert len(src) == 1 and src[0]["paths"] == ["/var/log/daemon.log"] and src[0]["lines"] >= 3, src
PY
rig_ctl status proxmox | grep -qx '.*file /var/log/daemon.log' || fail "status: no 'file /var/log/daemon.log' line"
rig_stop_daemon
echo "ok"
