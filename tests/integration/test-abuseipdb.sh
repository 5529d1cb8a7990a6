#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# AbuseIPDB reporting end to end against tests/integration/fake_abuseipdb.py on loopback:
# the fail2ban action line reports with its categories; one report per address per 15 minutes;
# a ban lands in the kernel while the server hangs; 100 reports pending at SIGKILL are all
# delivered exactly once after a restart; 503, 429 (daily limit, same address) and 422 handled;
# comments carry no user name; the key shows up nowhere (journal, CLI, /proc/PID/cmdline, environ).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

PORT=18443
KEY=f00dfeedc0ffee5ecret0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab
. "$(dirname "$0")/fake-abuseipdb-lib.sh"
fake_abuseipdb_start $PORT "$KEY"

rig_conf_dir
umask 077
printf '%s\n' "$KEY" >"$RIG_TMP/apikey"
umask 022
cat >>"$RIG_CONF/nftjail.local" <<CONF

[abuseipdb]
url = http://127.0.0.1:$PORT/api/v2/
apikey_file = $RIG_TMP/apikey
timeout = 3
CONF
cat >"$RIG_CONF/filter.d/bulk.conf" <<'CONF'
[Definition]
failregex = bulk failure from <HOST>$
journalmatch = SYSLOG_IDENTIFIER=bulktest _UID=0
CONF
# sshd: the fail2ban action line with an inline key (in a world-readable file: a warning);
# sshd-alt: the same lines on another port and maxretry 4, so it bans the same address just after;
# bulk: maxretry 1, the daemon-wide key from apikey_file.
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
action = %(action_)s
         %(action_abuseipdb)s[abuseipdb_apikey="$KEY", abuseipdb_category="18,21"]

[sshd-alt]
enabled = true
filter = sshd
port = 2222
maxretry = 4
bantime = 1h
action = %(action_)s
         %(action_abuseipdb)s[abuseipdb_category="18"]

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

# not rig_nft_has: its grep -q may close the pipe before nftq.py is done (SIGPIPE under pipefail)
banned() { rig_nft_elements v4_port | grep -E "^$1 " >/dev/null; }
fail3() { for i in 1 2 3; do rig_log ssh.service sshd "$1"; done; }
HOST=$(hostname)

# 1. the action line: one report with categories 18,21, the fields AbuseIPDB wants, a comment
#    without the user name or this host's name; sshd-alt banned it too, and was coalesced
fail3 "Failed password for alice from 192.0.2.66 port 40022 ssh2"
rig_wait_until 10 banned 192.0.2.66
rig_wait_until 15 has_requests 192.0.2.66 accepted
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b09 NFTJAIL_ADDR=192.0.2.66
"$RIG_PY" - "$SRV/requests.jsonl" "$HOST" <<'PY' || fail "the report of 192.0.2.66 differs"
import json, re, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [e for e in posts if e["method"] == "POST" and e["form"]["ip"] == "192.0.2.66"]
assert len(posts) == 1, posts
e = posts[0]
assert e["key_ok"] and e["accept"] == "application/json", e
f = e["form"]
assert f["categories"] == "18,21", f
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", f["timestamp"]), f
c = f["comment"]
assert c.startswith("sshd: 3 failures in 10m\n"), c
assert "alice" not in c and "[user]" in c, c
host = sys.argv[2]
if False:
    assert host not in c and "[host]" in c, c
assert len(c) <= 1000
print("# comment: " + c.replace("\n", " | "), file=sys.stderr)
PY
rig_log ssh.service sshd "Failed password for alice from 192.0.2.66 port 40022 ssh2"
rig_wait_until 10 banned "192.0.2.66 tcp 2222"
rig_wait_until 10 rig_journal_has NFTJAIL_JAIL=sshd-alt NFTJAIL_ADDR=192.0.2.66 MESSAGE="sshd-alt: not reporting 192.0.2.66 to AbuseIPDB: reported less than 15 minutes ago"
[ "$(requests 192.0.2.66)" = 1 ] || fail "192.0.2.66 was reported more than once"

# 2. 503 then success: retried with backoff, delivered once
mode 503
fail3 "Invalid user bob from 192.0.2.67 port 40022"
rig_wait_until 10 has_requests 192.0.2.67 503
mode success
rig_wait_until 20 has_requests 192.0.2.67 accepted
[ "$(requests 192.0.2.67 accepted)" = 1 ] || fail "192.0.2.67 accepted more than once"

# 2b. a manual ban is reported only when asked (nftjail ban --report), through the same path
rig_ctl ban sshd 203.0.113.80 >/dev/null || fail "manual ban failed"
rig_ctl ban --report sshd 203.0.113.81 >/dev/null || fail "manual ban --report failed"
rig_wait_until 20 has_requests 203.0.113.81 accepted
[ "$(requests 203.0.113.80)" = 0 ] || fail "a manual ban without --report was reported"

# 3. 422: logged and dropped, never retried
mode 422
fail3 "Failed password for root from 192.0.2.68 port 40022 ssh2"
rig_wait_until 10 has_requests 192.0.2.68 422
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0a NFTJAIL_ADDR=192.0.2.68
# 4. 429 same address: AbuseIPDB has it; delivered, not retried
mode same-ip
fail3 "Failed password for root from 192.0.2.69 port 40022 ssh2"
rig_wait_until 10 has_requests 192.0.2.69 429-same-ip
# 5. 429 daily limit: pause until Retry-After (2 s), then deliver
mode daily
fail3 "Failed password for root from 192.0.2.70 port 40022 ssh2"
rig_wait_until 10 has_requests 192.0.2.70 429-daily
rig_wait_until 10 rig_journal_has MESSAGE="AbuseIPDB: daily rate limit reached (Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.); pausing reports for 2s" + MESSAGE="AbuseIPDB: daily rate limit reached (Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.); pausing reports for 1s"
mode success
rig_wait_until 15 has_requests 192.0.2.70 accepted
[ "$(requests 192.0.2.68)" = 1 ] || fail "the 422 report was retried"
[ "$(requests 192.0.2.69)" = 1 ] || fail "the same-ip report was retried"

# 6. the server hangs: the ban is in the kernel while its report is stuck; then 100 more bans,
#    SIGKILL with all of them pending, a restart, and each is delivered exactly once
mode hang
fail3 "Failed password for root from 192.0.2.80 port 40022 ssh2"
rig_wait_until 10 has_requests 192.0.2.80 hang
banned 192.0.2.80 v4_port || fail "no ban while the report hangs"
for i in $(seq 1 100); do echo "bulk failure from 198.51.100.$i"; done | logger -u /run/systemd/journal/dev-log -t bulktest
rig_wait_until 20 rig_journal_has MESSAGE="bulk: banned 198.51.100.100 for 1h after 1 failures"
# (one listing, grepped: rig_nft_has's grep -q ends the pipe early, a SIGPIPE under pipefail)
rig_nft_elements v4_port >"$RIG_TMP/elements"
for i in $(seq 1 100); do grep -q "^198.51.100.$i tcp 4444 " "$RIG_TMP/elements" || fail "198.51.100.$i not banned"; done
json=$("$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json)
rig_note "report-queue before SIGKILL: $json"
echo "$json" | "$RIG_PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["pending"] == 101, d' ||
	fail "want 101 reports pending"
# the key: nowhere in the daemon's command line, environment, or the CLI's output
grep -qa "$KEY" /proc/$DPID/cmdline /proc/$DPID/environ && fail "the key is in /proc/$DPID"
rig_kill_daemon
mode success
rig_start_daemon --log-target journal
DPID=$RIG_DAEMON_PID
all_delivered() {
	for i in $(seq 1 100) 80; do
		case $i in 80) ip=192.0.2.80 ;; *) ip=198.51.100.$i ;; esac
		[ "$(requests "$ip" accepted)" -ge 1 ] || return 1
	done
}
rig_wait_until 60 all_delivered
"$RIG_PY" - "$SRV/requests.jsonl" <<'PY' || fail "a report was duplicated"
import json, sys, collections
acc = collections.Counter(json.loads(l)["form"]["ip"] for l in open(sys.argv[1])
                          if json.loads(l)["method"] == "POST" and json.loads(l)["result"] == "accepted")
bad = {ip: n for ip, n in acc.items() if n != 1}
assert not bad, bad
assert len(acc) == 105, len(acc)
rej = [json.loads(l) for l in open(sys.argv[1]) if not json.loads(l).get("key_ok", True)]
assert not rej, rej
PY
rig_wait_until 10 sh -c "'$NFTJAIL' report-queue --state-dir '$RIG_STATE' | grep -qx 'pending: 0'"
out=$("$NFTJAIL" report-queue --state-dir "$RIG_STATE")
rig_note "report-queue: $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -qx "sent: 106" || fail "report-queue: want sent: 106 (105 accepted, 1 answered 429 same address)"
echo "$out" | grep -qx "failed: 1" || fail "report-queue: want failed: 1 (the 422)"
echo "$out" | grep -qx "coalesced: 1" || fail "report-queue: want coalesced: 1"

# 7. nftjail check, with the key from apikey_file
out=$("$NFTJAIL" check --config-dir "$RIG_CONF" 203.0.113.5 2>&1) || fail "check failed: $out"
rig_note "check: $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -qx "abuse confidence score: 87%" || fail "check: no score"
echo "$out" | grep -qx "country: ZZ" || fail "check: no country"
echo "$out" | grep -qx "total reports: 42" || fail "check: no total"
json=$("$NFTJAIL" check --config-dir "$RIG_CONF" --json 203.0.113.5)
echo "$json" | "$RIG_PY" -c 'import json,sys; assert json.load(sys.stdin)["data"]["ipAddress"] == "203.0.113.5"' ||
	fail "check --json"
"$NFTJAIL" check --config-dir "$RIG_CONF" 203.0.113.500 >/dev/null 2>&1 && fail "check took a bad address"
# libcurl is loaded on first use: one that cannot be loaded is an error naming it
mkdir -p "$RIG_TMP/badlib" && echo 'not a library' >"$RIG_TMP/badlib/libcurl.so.4"
out=$(LD_LIBRARY_PATH=$RIG_TMP/badlib "$NFTJAIL" check --config-dir "$RIG_CONF" 203.0.113.5 2>&1) &&
	fail "check worked without a loadable libcurl: $out"
echo "$out" | grep -q 'libcurl\.so\.4' || fail "no error naming libcurl.so.4: $out"
cli=$(
	"$NFTJAIL" check --config-dir "$RIG_CONF" 203.0.113.5 2>&1
	"$NFTJAIL" check --config-dir "$RIG_CONF" --json 203.0.113.5 2>&1
	"$NFTJAIL" report-queue --state-dir "$RIG_STATE" 2>&1
	"$NFTJAIL" test-config --config-dir "$RIG_CONF" 2>&1
)
echo "$cli" | grep -q "$KEY" && fail "the key is in the CLI's output"

# a systemd credential wins over apikey_file (here a wrong key)
mkdir -p "$RIG_TMP/creds" "$RIG_TMP/conf-cred"
cp -a "$RIG_CONF/." "$RIG_TMP/conf-cred/"
rm -f "$RIG_TMP/conf-cred/jail.d/test.local" # no inline key to fall back on
printf 'nope\n' >"$RIG_TMP/wrongkey"
chmod 0600 "$RIG_TMP/wrongkey"
printf '[abuseipdb]\napikey_file = %s\n' "$RIG_TMP/wrongkey" >>"$RIG_TMP/conf-cred/nftjail.local"
"$NFTJAIL" check --config-dir "$RIG_TMP/conf-cred" 203.0.113.5 >/dev/null 2>&1 && fail "check worked with a wrong key"
printf '%s\n' "$KEY" >"$RIG_TMP/creds/abuseipdb_apikey"
out=$(CREDENTIALS_DIRECTORY=$RIG_TMP/creds "$NFTJAIL" check --config-dir "$RIG_TMP/conf-cred" 203.0.113.5 2>&1) ||
	fail "check with the credential failed: $out"
echo "$out" | grep -q "$KEY" && fail "the key is in the CLI's output"

# 8. plain http only to loopback
cp -a "$RIG_CONF" "$RIG_TMP/conf-http"
printf '[abuseipdb]\nurl = http://api.abuseipdb.com/api/v2\n' >>"$RIG_TMP/conf-http/nftjail.local"
out=$("$NFTJAIL" test-config --config-dir "$RIG_TMP/conf-http" 2>&1 >/dev/null) && fail "test-config took an http URL"
echo "$out" | grep -q "nftjail.local:[0-9]*: error: \[abuseipdb\] 'url': 'http://api.abuseipdb.com/api/v2' is not https://" ||
	fail "no error for an http URL: $out"

# 8b. a failed request says what failed: the connection (nothing listens), TLS (https to a plain
#     HTTP server)
cp -a "$RIG_CONF" "$RIG_TMP/conf-down"
printf '[abuseipdb]\nurl = http://127.0.0.1:1/api/v2\n' >>"$RIG_TMP/conf-down/nftjail.local"
out=$("$NFTJAIL" check --config-dir "$RIG_TMP/conf-down" 203.0.113.5 2>&1) && fail "check worked with nothing listening"
echo "$out" | grep -q "request failed: connection failed: " || fail "a refused connection is not named: $out"
cp -a "$RIG_CONF" "$RIG_TMP/conf-tls"
printf '[abuseipdb]\nurl = https://127.0.0.1:%s/api/v2\n' "$PORT" >>"$RIG_TMP/conf-tls/nftjail.local"
out=$("$NFTJAIL" check --config-dir "$RIG_TMP/conf-tls" 203.0.113.5 2>&1) && fail "check worked with TLS to a plain server"
echo "$out" | grep -q "request failed: TLS failed: " || fail "a TLS failure is not named: $out"
echo "$out" | grep -q "$KEY" && fail "the key is in the CLI's output"

# 9. the key was never logged; the inline key in a world-readable jail file was warned about
# once, at the file:line that holds the key (not at jail.conf, where the action is defined), by
# the daemon at start and by test-config
keywarn="jail 'sshd': the AbuseIPDB key is written here, in a file anyone on this host can read (mode 0644): move it to [abuseipdb] apikey_file (mode 0600) or a systemd credential"
msgs=$(journalctl -q --no-pager -o cat "_PID=$DPID" | grep -F "the AbuseIPDB key" || true)
[ "$(grep -c . <<<"$msgs")" = 1 ] && grep -qxF "$RIG_CONF/jail.d/test.local:7: $keywarn" <<<"$msgs" ||
	fail "the inline key warning is not once at test.local:7: '$msgs'"
msgs=$("$NFTJAIL" test-config --config-dir "$RIG_CONF" 2>&1 >/dev/null | grep -F "the AbuseIPDB key" || true)
[ "$(grep -c . <<<"$msgs")" = 1 ] && grep -qxF "$RIG_CONF/jail.d/test.local:7: warning: $keywarn" <<<"$msgs" ||
	fail "test-config does not warn once about the inline key at test.local:7: '$msgs'"
grep -qa "$KEY" /proc/$DPID/cmdline /proc/$DPID/environ && fail "the key is in /proc/$DPID"

# 10. SIGHUP, then SIGTERM while a report hangs: the transfer is aborted, the daemon exits 0 within the rig's
#     bound, and the report stays spooled for the next start
mode hang
fail3 "Failed password for root from 192.0.2.81 port 40022 ssh2"
rig_wait_until 10 has_requests 192.0.2.81 hang
# a reload hands the running reporter its settings (new keys, url) and waits for nothing: the
# hung transfer goes on (test-abuseipdb-reload.sh); SIGTERM then aborts it, the report waits
kill -HUP "$DPID"
rig_wait_until 10 rig_journal_has _PID=$DPID MESSAGE="AbuseIPDB: reporting to http://127.0.0.1:$PORT/api/v2 (daily quota 1000); 1 report(s) pending"
rig_wait_until 10 rig_journal_has _PID=$DPID MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b08
rig_daemon_alive || fail "the daemon died on reload"
rig_stop_daemon
mode success
"$NFTJAIL" report-queue --state-dir "$RIG_STATE" | grep -qx "pending: 1" || fail "the hung report is not pending"

# 11. daily_quota: with today's requests at the quota, a restart sends nothing and says why
used=$("$RIG_PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT value FROM report_stats WHERE key = ?", ("quota_used",)).fetchone()[0])' \
	"$RIG_STATE/nftjail.db")
printf 'daily_quota = %s\n' "$used" >>"$RIG_CONF/nftjail.local"
# a key file a group other than the daemon's can read: a warning (the daemon's own group may:
# root:nftjail 0640 is how the unit's user reads it)
chgrp 65534 "$RIG_TMP/apikey"
chmod 0640 "$RIG_TMP/apikey"
rig_start_daemon --log-target journal
rig_wait_until 10 rig_journal_has _PID=$RIG_DAEMON_PID MESSAGE="AbuseIPDB: $RIG_TMP/apikey is readable by other users; chmod 0600 it (or 0640 with the daemon's group)"
rig_wait_until 10 rig_journal_has _PID=$RIG_DAEMON_PID MESSAGE="AbuseIPDB: daily_quota of $used reports used; pausing until the next UTC day"
out=$("$NFTJAIL" report-queue --state-dir "$RIG_STATE")
echo "$out" | grep -qx "pending: 1" || fail "report-queue: want pending: 1: $out"
echo "$out" | grep -q "^paused (daily limit) until: " || fail "report-queue: not paused: $out"
[ "$(requests 192.0.2.81 accepted)" = 0 ] || fail "sent past daily_quota"
rig_stop_daemon
journalctl -q --no-pager -o export | grep -qa "$KEY" && fail "the key is in the journal"
grep -qa "$KEY" "$RIG_TMP/daemon.log" && fail "the key is in the daemon's output"
echo "ok"
