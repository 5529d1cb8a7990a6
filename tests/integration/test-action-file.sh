#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An admin's fail2ban action.d file, copied over, runs on each automatic ban: [INCLUDES], [Init],
# options in the jail's action line, the tags <ip> <name> <failures> <bantime> <matches>. The
# user names in the matched lines try to leave their quoting ($(...), backticks, quotes, ;) in
# unquoted, double- and single-quoted places of the command: the marker file is never created,
# and the text arrives. The same for the user name itself, which the drupal-auth filter captures
# as <F-USER>: the action sees the user of the failure that reached maxretry, exactly (cut at 256
# bytes), and nothing runs. A jail on the sshd filter gives <F-USER> "admin" for "Invalid user
# admin from ...". The ban action of the same line (iptables-multiport) is the native nft ban and
# is not run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

rig_conf_dir
mkdir -p "$RIG_CONF/action.d"
cat >"$RIG_CONF/action.d/notify-common.conf" <<'CONF'
[Definition]
actionstart = touch /run/nftjail-rig/started
CONF
cat >"$RIG_CONF/action.d/notify.conf" <<'CONF'
[INCLUDES]
before = notify-common.conf

[Definition]
norestored = 1
actionban = echo "ban <ip> <name> <failures> <bantime>" >> <out>/info
            echo <matches> >> <out>/unquoted
            echo "<matches>" >> <out>/double
            echo '<ipmatches>' >> <out>/single
            printf '%%s\n' <F-USER> >> <out>/user-unquoted
            printf '%%s\n' "<F-USER>" >> <out>/user-double
            printf '%%s\n' '<F-USER>' >> <out>/user-single
            printf '%%s\n' "u=<F-USER>;" 'u=<F-USER>;' >> <out>/user-mixed

[Init]
out = /nonexistent
CONF
cat >"$RIG_CONF/action.d/who.conf" <<'CONF'
[Definition]
actionban = printf '%%s %%s\n' <ip> '<F-USER>' >> <out>/who

[Init]
out = /nonexistent
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = false

[drupal-auth]
enabled = true
logpath = /var/log/syslog
maxretry = 3
action = iptables-multiport[name=drupal, port="http,https"]
         notify[out="$RIG_TMP/out"]

[sshd-file]
enabled = true
filter = sshd
logpath = /var/log/auth.log
port = 22
maxretry = 2
action = who[out="$RIG_TMP/out"]
CONF
mkdir -p "$RIG_TMP/out"
: >/var/log/syslog
: >/var/log/auth.log
drupal() {
	printf '%s web drupal: https://www.example.org|1|user|%s|/user/login||0||Login attempt failed for %s.\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2" >>/var/log/syslog
}
rig_start_daemon --log-target journal
M=$RIG_TMP/MARKER
drupal 203.0.113.5 "\$(touch $M)"
drupal 203.0.113.5 "\`touch $M\`; touch $M"
drupal 203.0.113.5 "x'; touch $M; '\"; touch $M; \""
LAST="x'; touch $M; '\"; touch $M; \""
rig_wait_until 10 rig_nft_has '^203\.0\.113\.5 tcp 443 ' v4_port
rig_wait_until 30 test -s "$RIG_TMP/out/user-mixed"
rig_note "$(cat "$RIG_TMP/out/"*)"
[ -e "$M" ] && fail "an attacker's user name ran a command"
# <F-USER>: the user of the third failure, the one that reached maxretry, exactly
for f in user-unquoted user-double user-single; do
	[ "$(cat "$RIG_TMP/out/$f")" = "$LAST" ] || fail "$f: <F-USER> arrived as '$(cat "$RIG_TMP/out/$f")'"
done
[ "$(cat "$RIG_TMP/out/user-mixed")" = "$(printf 'u=%s;\nu=%s;' "$LAST" "$LAST")" ] ||
	fail "user-mixed: <F-USER> arrived as '$(cat "$RIG_TMP/out/user-mixed")'"

# a long user name: cut at 256 bytes, what comes after (a command) is left out and runs nowhere
rm -f "$RIG_TMP/out/user-"*
LONG="$(printf 'A%.0s' $(seq 1 250))\$(touch $M)\`touch $M\`"
drupal 203.0.113.6 "a"
drupal 203.0.113.6 "b"
drupal 203.0.113.6 "$LONG"
rig_wait_until 10 rig_nft_has '^203\.0\.113\.6 tcp 443 ' v4_port
rig_wait_until 30 test -s "$RIG_TMP/out/user-mixed"
for f in user-unquoted user-double user-single; do
	[ "$(cat "$RIG_TMP/out/$f")" = "${LONG:0:256}" ] || fail "$f: the long <F-USER> arrived as '$(cat "$RIG_TMP/out/$f")'"
done
[ -e "$M" ] && fail "a long user name ran a command"

# the real user name from sshd's own message
sshd() {
	printf '%s host sshd[%s]: Invalid user %s from %s port 4444\n' "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$RANDOM" \
		"$2" "$1" >>/var/log/auth.log
}
sshd 198.51.100.7 oracle
sshd 198.51.100.7 admin
rig_wait_until 10 rig_nft_has '^198\.51\.100\.7 tcp 22 ' v4_port
rig_wait_until 30 test -s "$RIG_TMP/out/who"
[ "$(cat "$RIG_TMP/out/who")" = "198.51.100.7 admin" ] || fail "who: $(cat "$RIG_TMP/out/who")"
[ "$(head -n1 "$RIG_TMP/out/info")" = "ban 203.0.113.5 drupal-auth 3 600" ] || fail "info: $(cat "$RIG_TMP/out/info")"
for f in unquoted double single; do
	grep -qF "Login attempt failed for \$(touch $M)." "$RIG_TMP/out/$f" || fail "$f: the \$( ) line did not arrive"
	grep -qF "\`touch $M\`; touch $M." "$RIG_TMP/out/$f" || fail "$f: the backtick line did not arrive"
	grep -qF "touch $M; " "$RIG_TMP/out/$f" || fail "$f: the quote line did not arrive"
done
journalctl -q --no-pager -o cat NFTJAIL_JAIL=drupal-auth | grep -qxF "drupal-auth: action 'notify' actionban about 203.0.113.5 done" ||
	fail "the action is not logged"
rig_stop_daemon
[ -e "$M" ] && fail "an attacker's user name ran a command"
echo "ok"
