#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A reload hands the running AbuseIPDB reporter its new settings instead of restarting it, against
# tests/integration/fake_abuseipdb.py on loopback (which counts the POSTs per address):
#  1. a reload while a report is in flight (the server delays its answer 6 s) returns at once, a
#     ban issued meanwhile lands in the kernel, and the report in flight is posted once, not cut
#     and sent again; the next report carries the new comment and the new key file's key;
#  2. a reload that turns reporting off while a report is in flight lets that request end (posted
#     once), bans go on unreported, and one that turns it on again starts a thread only once the
#     old one is joined: every spool row posted exactly once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

PORT=18444
KEY=f00dfeedc0ffee5ecret0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab
KEY2=0ddba11ca5cade5ecret0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab
. "$(dirname "$0")/fake-abuseipdb-lib.sh"
printf '%s\n' "$KEY2" >"$SRV/keys"
fake_abuseipdb_start $PORT "$KEY"

rig_conf_dir
umask 077
printf '%s\n' "$KEY" >"$RIG_TMP/apikey"
printf '%s\n' "$KEY2" >"$RIG_TMP/apikey2"
umask 022
BASE=$(cat "$RIG_CONF/nftjail.local")
abuseipdb_conf() { # abuseipdb_conf ENABLED KEYFILE COMMENT
	printf '%s\n\n[abuseipdb]\nenabled = %s\nurl = http://127.0.0.1:%s/api/v2/\napikey_file = %s\ntimeout = 20\ncomment = %s\n' \
		"$BASE" "$1" $PORT "$2" "$3" >"$RIG_CONF/nftjail.local"
}
abuseipdb_conf true "$RIG_TMP/apikey" 'old: %(jail)s %(ip)s'
cat >"$RIG_CONF/filter.d/bulk.conf" <<'CONF'
[Definition]
failregex = bulk failure from <HOST>$
journalmatch = SYSLOG_IDENTIFIER=bulktest _UID=0
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[bulk]
enabled = true
filter = bulk
port = 4444
maxretry = 1
bantime = 1h
action = %(action_)s
         %(action_abuseipdb)s[abuseipdb_category="15"]
CONF

rig_start_daemon --log-target journal
DPID=$RIG_DAEMON_PID

banned() { rig_nft_elements v4_port | grep -E "^$1 tcp 4444 " >/dev/null; }
fail1() { echo "bulk failure from $1" | logger -u /run/systemd/journal/dev-log -t bulktest; }
now_ms() { date +%s%3N; }
timed_reload() { # timed_reload WHAT: reloads, sets RELOAD_MS, fails past 3 s
	local t0 t1
	t0=$(now_ms)
	rig_ctl reload >/dev/null || fail "reload ($1) failed"
	t1=$(now_ms)
	RELOAD_MS=$((t1 - t0))
	rig_note "reload ($1) with a report in flight: $RELOAD_MS ms"
	[ "$RELOAD_MS" -lt 3000 ] || fail "the reload ($1) waited for the report in flight ($RELOAD_MS ms)"
}

# 1. reload while the report of 198.51.100.1 is in flight (answered after 6 s)
mode "delay 6"
fail1 198.51.100.1
rig_wait_until 10 has_requests 198.51.100.1 delayed
abuseipdb_conf true "$RIG_TMP/apikey2" 'new: %(jail)s %(ip)s'
timed_reload "new key and comment"
t1=$(now_ms)
rig_ctl ban bulk 203.0.113.50 >/dev/null || fail "manual ban during the report failed"
rig_wait_until 5 banned 203.0.113.50
rig_note "a ban issued after the reload, the report still in flight: in the kernel $(($(now_ms) - t1)) ms later"
[ "$(requests 198.51.100.1 accepted)" = 0 ] || fail "the delayed answer came before the reload returned: no report was in flight"
rig_journal_has _PID=$DPID MESSAGE="AbuseIPDB: reporting to http://127.0.0.1:$PORT/api/v2 (daily quota 1000); 1 report(s) pending" ||
	fail "no word of the new settings"
mode success
rig_wait_until 15 has_requests 198.51.100.1 accepted
# the next report: the new comment template and the new key file's key
fail1 198.51.100.2
rig_wait_until 15 has_requests 198.51.100.2 accepted
"$RIG_PY" - "$SRV/requests.jsonl" <<'PY' || fail "the reports differ from what the settings say"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [e for e in posts if e["method"] == "POST"]
one = [e for e in posts if e["form"]["ip"] == "198.51.100.1"]
# one request, answered late: not cut, not sent again (a delayed one is logged on arrival and answer)
assert [e["result"] for e in one] == ["delayed", "accepted"], one
assert one[0]["key_n"] == 0 and one[0]["form"]["comment"] == "old: bulk 198.51.100.1", one
two = [e for e in posts if e["form"]["ip"] == "198.51.100.2"]
assert len(two) == 1 and two[0]["key_n"] == 1, two
assert two[0]["form"]["comment"] == "new: bulk 198.51.100.2", two
PY
rig_wait_until 10 sh -c "'$NFTJAIL' report-queue --state-dir '$RIG_STATE' | grep -qx 'pending: 0'"

# 2. reporting off while the report of 198.51.100.3 is in flight; bans go on; on again
mode "delay 4"
fail1 198.51.100.3
rig_wait_until 10 has_requests 198.51.100.3 delayed
abuseipdb_conf false "$RIG_TMP/apikey2" 'new: %(jail)s %(ip)s'
timed_reload "reporting off"
fail1 198.51.100.4
rig_wait_until 10 banned 198.51.100.4
rig_wait_until 15 rig_journal_has _PID=$DPID MESSAGE="AbuseIPDB: reporter stopped; 0 report(s) stay spooled"
# on again at once, and off and on while the thread still ends its request: never two threads
mode "delay 3"
fail1 198.51.100.5 # not reported: reporting is off
rig_wait_until 10 banned 198.51.100.5
abuseipdb_conf true "$RIG_TMP/apikey2" 'new: %(jail)s %(ip)s'
rig_ctl reload >/dev/null || fail "reload (on) failed"
fail1 198.51.100.6
rig_wait_until 10 has_requests 198.51.100.6 delayed
abuseipdb_conf false "$RIG_TMP/apikey2" 'new: %(jail)s %(ip)s'
rig_ctl reload >/dev/null || fail "reload (off again) failed"
abuseipdb_conf true "$RIG_TMP/apikey2" 'new: %(jail)s %(ip)s'
rig_ctl reload >/dev/null || fail "reload (on again) failed"
fail1 198.51.100.7
mode success
rig_wait_until 20 has_requests 198.51.100.7 accepted
rig_wait_until 10 sh -c "'$NFTJAIL' report-queue --state-dir '$RIG_STATE' | grep -qx 'pending: 0'"
rig_daemon_alive || fail "the daemon died"
rig_stop_daemon
"$RIG_PY" - "$SRV/requests.jsonl" <<'PY' || fail "a spool row was not posted exactly once"
import collections, json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [e for e in posts if e["method"] == "POST"]
n = collections.Counter(e["form"]["ip"] for e in posts if e["result"] != "delayed")
want = {"198.51.100.%d" % i: 1 for i in (1, 2, 3, 6, 7)}
assert dict(n) == want, dict(n)
assert all(e["key_ok"] for e in posts), posts
PY
for i in 1 2 3 4 5 6 7; do banned 198.51.100.$i || fail "198.51.100.$i not banned"; done
echo "ok"
