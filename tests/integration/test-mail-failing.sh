#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A sendmail that fails or hangs never holds up a ban. /usr/sbin/sendmail is replaced (a bind
# mount in our private mount namespace) by a script that records what it was given (its
# environment, its descriptors, its input), then fails with exit status 75 and a message on
# stderr: both are logged with the jail. Then it hangs: the bans after it are in the kernel at
# once, and a stop is not held up by the hanging children (SIGKILL after the grace time).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

SM=$RIG_TMP/bin/sendmail
cat >"$SM" <<EOF2
#!/bin/sh
if [ -e $RIG_TMP/hang ]; then echo started >>$RIG_TMP/hung; exec sleep 1000; fi
env >$RIG_TMP/sm.env
ls -l /proc/\$\$/fd/ >$RIG_TMP/sm.fd
echo "\$*" >$RIG_TMP/sm.args
cat >$RIG_TMP/sm.in
echo 'sendmail: cannot connect to relay' >&2
exit 75
EOF2
chmod 0755 "$SM"
mount --bind "$SM" /usr/sbin/sendmail || fail "cannot bind-mount the test sendmail"

rig_conf_dir
cat >"$RIG_CONF/jail.d/drupal.local" <<'CONF'
[sshd]
enabled = false

[drupal-auth]
enabled = true
logpath = /var/log/syslog
maxretry = 1
action = %(action_mw)s
destemail = admin@example.org
mailrate = 100
CONF
: >/var/log/syslog
drupal() {
	printf '%s web drupal: https://www.example.org|1|user|%s|/user/login||0||Login attempt failed for %s.\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "${2:-admin}" >>/var/log/syslog
}
rig_start_daemon --log-target journal
drupal 203.0.113.5
rig_wait_until 10 rig_nft_has '^203\.0\.113\.5 tcp 443 ' v4_port
logged() {
	journalctl -q --no-pager -o cat NFTJAIL_JAIL=drupal-auth NFTJAIL_ADDR=203.0.113.5 |
		grep -qxF "drupal-auth: mail about 203.0.113.5: /usr/sbin/sendmail exit status 75, stderr 'sendmail: cannot connect to relay\\x0a'"
}
rig_wait_until 30 logged
[ "$(cat "$RIG_TMP/sm.args")" = "-t -oi" ] || fail "sendmail arguments: $(cat "$RIG_TMP/sm.args")"
rig_note "$(cat "$RIG_TMP/sm.env")"
# a minimal environment: PATH, HOME, LANG (and what sh itself adds)
bad=$(grep -v -E '^(PATH=/usr/sbin:/usr/bin:/sbin:/bin|HOME=/|LANG=C.UTF-8|PWD=.*|SHLVL=.*|_=.*|OLDPWD=.*)$' "$RIG_TMP/sm.env" || true)
[ -z "$bad" ] || fail "the child's environment has more: $bad"
# no descriptor of the daemon: the shell's are the 3 pipes (sh moved stdout to 11 while it ran
# ls >sm.fd), the script it reads (the bind mount shows as sendmail's target) and sm.fd
rig_note "$(cat "$RIG_TMP/sm.fd")"
grep -E ' 0 -> pipe:' "$RIG_TMP/sm.fd" >/dev/null && grep -E ' 2 -> pipe:' "$RIG_TMP/sm.fd" >/dev/null ||
	fail "stdin and stderr are not pipes"
[ "$(grep -c -- '-> pipe:' "$RIG_TMP/sm.fd")" = 3 ] || fail "not 3 pipes"
grep -v -E "^total| -> pipe:| -> $(readlink -f /usr/sbin/sendmail)\$| -> $RIG_TMP/sm.fd\$" "$RIG_TMP/sm.fd" |
	grep . && fail "the child inherited descriptors"
grep -q '^Subject: \[nftjail\] drupal-auth: banned 203.0.113.5 from ' "$RIG_TMP/sm.in" || fail "no message on stdin"

# hanging: two workers stuck, the bans go on
touch "$RIG_TMP/hang"
for a in 1 2 3 4 5 6; do drupal "192.0.2.$a"; done
for a in 1 2 3 4 5 6; do rig_wait_until 10 rig_nft_has "^192\\.0\\.2\\.$a tcp 443 " v4_port; done
rig_wait_until 10 grep -c started "$RIG_TMP/hung"
for a in 7 8 9; do drupal "198.51.100.$a"; rig_wait_until 10 rig_nft_has "^198\\.51\\.100\\.$a tcp 443 " v4_port; done
[ "$(grep -c started "$RIG_TMP/hung")" -le 2 ] || fail "more than 2 children at once: $(grep -c started "$RIG_TMP/hung")"
rig_stop_daemon
journalctl -q --no-pager -o cat NFTJAIL_JAIL=drupal-auth | grep -q '/usr/sbin/sendmail killed: the daemon stops' ||
	fail "the killed children are not logged"
pgrep -f 'sleep 1000' >/dev/null && fail "a hanging child outlived the daemon"
echo "ok"
