#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a restart owes the actions and the webhooks.
# 1. A ban decided before a SIGKILL and applied only after it (the replay of the stored failures)
#    runs its actionban with the <F-USER> of the failure that reached maxretry, as a live one does.
#    The window is made real: the kernel refuses the ban (an element by hand, a /48, holds the jail's
#    IPv6 /56), so the failure stays stored; the daemon is killed, the element deleted, the
#    daemon started again.
# 2. A ban whose bantime runs out while the daemon is stopped gets its actionunban and its webhook
#    expiry event after the next start, once: again after a SIGKILL that follows them, when a
#    second ban that ran out during that kill is told (and the first is not told again).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI missing"
rig_tmpfs /var/log
DB=$RIG_STATE/nftjail.db

PORT=18481
SRV=$RIG_TMP/webhook
mkdir -p "$SRV"
rm -f "$SRV/ready"
"$RIG_PY" "$RIG_LIBDIR/fake_webhook.py" $PORT "$SRV" 2>>"$RIG_TMP/webhook.log" &
_rig_track_pid $!
rig_wait_until 10 test -e "$SRV/ready"
# events PATH IP EVENT: how many EVENT ("ban", "unban") events about IP reached PATH
events() {
	"$RIG_PY" - "$SRV/requests.jsonl" "$@" <<'PY'
import json, sys
path, ip, event = sys.argv[2:5]
n = 0
try:
    for l in open(sys.argv[1]):
        r = json.loads(l)
        if r["path"] == path and r["json"] and r["json"].get("address") == ip and r["json"]["event"] == event:
            assert event != "unban" or (r["json"]["reason"], r["headers"]["x-nftjail-event"]) == ("expired", "expiry"), r
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
has_event() { [ "$(events "$@")" -ge 1 ]; }
queue_empty() {
	"$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json |
		"$RIG_PY" -c 'import json,sys; sys.exit(json.load(sys.stdin)["webhooks"]["pending"] != 0)'
}

rig_conf_dir
mkdir -p "$RIG_CONF/action.d"
cat >"$RIG_CONF/action.d/trail.conf" <<'CONF'
[Definition]
actionban = echo "ban <ip> <name> user=<F-USER>" >> <out>
actionunban = echo "unban <ip> <name>" >> <out>

[Init]
out = /nonexistent
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
maxretry = 1
bantime = 3s
action = %(action_)s
         trail[out="$RIG_TMP/short-trail"]
         webhook[url="http://127.0.0.1:$PORT/short", format=json, timeout=3]

[drupal-auth]
enabled = true
logpath = /var/log/syslog
maxretry = 1
bantime = 1h
ipv6_prefix = 56
action = %(action_)s
         trail[out="$RIG_TMP/trail"]
CONF
: >/var/log/syslog
: >"$RIG_TMP/trail"
: >"$RIG_TMP/short-trail"
drupal() {
	printf '%s web drupal: https://www.example.org|1|user|%s|/user/login||0||Login attempt failed for %s.\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2" >>/var/log/syslog
}
stored() { [ "$(sqlite3 "$DB" "select count(*) from failures where addr = '$1'" 2>/dev/null)" = "$2" ]; }
v4_banned() { rig_nft_has "^$1 tcp 22 " v4_port; }
v4_gone() { ! v4_banned "$1"; }

# 1. the replayed ban's actionban gets the user
BLOCK='2001:db8:bad::/48 . tcp . 80'
rig_start_daemon --log-target journal
rig_nft add element inet nftjail v6_port "{ $BLOCK timeout 1h }"
drupal 2001:db8:bad::5 mallory
rig_wait_until 15 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b03 NFTJAIL_ADDR=2001:db8:bad::5
rig_wait_until 10 stored 2001:db8:bad::5 1
[ ! -s "$RIG_TMP/trail" ] || fail "an action ran for the refused ban: $(cat "$RIG_TMP/trail")"
rig_kill_daemon
rig_nft delete element inet nftjail v6_port "{ $BLOCK }"
rig_start_daemon --log-target journal
rig_wait_until 15 test -s "$RIG_TMP/trail"
[ "$(cat "$RIG_TMP/trail")" = "ban 2001:db8:bad::5/56 drupal-auth user=mallory" ] ||
	fail "the replayed ban's actionban: '$(cat "$RIG_TMP/trail")', want the user mallory"

# 2. a ban that runs out while the daemon is stopped: told at the next start, once
A=192.0.2.10 B=192.0.2.20
rig_log ssh.service sshd "Failed password for root from $A port 40022 ssh2"
rig_wait_until 10 v4_banned $A
rig_wait_until 15 has_event /short $A ban
rig_stop_daemon
rig_wait_until 15 v4_gone $A
[ "$(events /short $A unban)" = 0 ] || fail "an expiry event before the restart"
rig_start_daemon --log-target journal
rig_wait_until 15 grep -qx "unban $A sshd" "$RIG_TMP/short-trail"
rig_wait_until 15 has_event /short $A unban
# a second ban, then a crash after the first's events went out: the second is told after the
# next start, the first is not told again (the state marked it before it was handed over)
rig_log ssh.service sshd "Failed password for root from $B port 40022 ssh2"
rig_wait_until 10 v4_banned $B
rig_wait_until 15 has_event /short $B ban
rig_wait_until 15 grep -qx "ban $B sshd user=root" "$RIG_TMP/short-trail"
rig_kill_daemon
rig_wait_until 15 v4_gone $B
rig_start_daemon --log-target journal
rig_wait_until 15 grep -qx "unban $B sshd" "$RIG_TMP/short-trail"
rig_wait_until 15 has_event /short $B unban
rig_wait_until 15 queue_empty
rig_stop_daemon
want="ban $A sshd user=root
unban $A sshd
ban $B sshd user=root
unban $B sshd"
[ "$(cat "$RIG_TMP/short-trail")" = "$want" ] || fail "short trail: $(cat "$RIG_TMP/short-trail")"
for ip in $A $B; do
	[ "$(events /short $ip unban)" = 1 ] || fail "$ip: $(events /short $ip unban) expiry events, want 1"
	[ "$(events /short $ip ban)" = 1 ] || fail "$ip: $(events /short $ip ban) ban events, want 1"
done
echo "ok"
