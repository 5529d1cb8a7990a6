#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An action.d file's actionstart, actioncheck, actionban, actionunban, actionflush and actionstop
# run through the action workers, in order, each appending a line to a file: the daemon starts,
# two addresses are banned, one is unbanned by hand, a reload adds a jail, the daemon stops.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

rig_conf_dir
mkdir -p "$RIG_CONF/action.d"
cat >"$RIG_CONF/action.d/trail.conf" <<'CONF'
[Definition]
actionstart = echo "start <name>" >> <out>
actioncheck = true
actionban = echo "ban <ip> <name>" >> <out>
actionunban = echo "unban <ip> <name>" >> <out>
actionflush = echo "flush <name>" >> <out>
actionstop = echo "stop <name>" >> <out>

[Init]
out = /nonexistent
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = false

[drupal-auth]
enabled = true
logpath = /var/log/syslog
maxretry = 1
action = trail[out="$RIG_TMP/trail"]
CONF
: >/var/log/syslog
: >"$RIG_TMP/trail"
drupal() {
	printf '%s web drupal: https://www.example.org|1|user|%s|/user/login||0||Login attempt failed for %s.\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2" >>/var/log/syslog
}
lines() { [ "$(wc -l <"$RIG_TMP/trail")" -ge "$1" ]; }
rig_start_daemon --log-target journal
rig_wait_until 30 lines 1
drupal 203.0.113.5 alice
rig_wait_until 30 lines 2
drupal 198.51.100.7 bob
rig_wait_until 30 lines 3
rig_ctl unban 203.0.113.5 drupal-auth >/dev/null
rig_wait_until 30 lines 4
# a reload that adds a jail starts its action; the running jail's is not started again
cat >>"$RIG_CONF/jail.d/test.local" <<CONF

[drupal-two]
enabled = true
filter = drupal-auth
logpath = /var/log/syslog
maxretry = 1
action = trail[out="$RIG_TMP/trail"]
CONF
rig_ctl reload >/dev/null
rig_wait_until 30 lines 5
rig_stop_daemon
want="start drupal-auth
ban 203.0.113.5 drupal-auth
ban 198.51.100.7 drupal-auth
unban 203.0.113.5 drupal-auth
start drupal-two
flush drupal-auth
stop drupal-auth
flush drupal-two
stop drupal-two"
[ "$(cat "$RIG_TMP/trail")" = "$want" ] || fail "trail: $(cat "$RIG_TMP/trail")"
echo "ok"
