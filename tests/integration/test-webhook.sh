#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Webhooks end to end against tests/integration/fake_webhook.py on loopback: a ban POSTs one event
# to each webhook of the jail (json from a [webhook NAME] section with a header and a token file,
# ntfy and slack inline), with what the daemon computed and never the attacker's user name; an
# unban posts an unban event; 500 then 200 is delivered after a retry; 404 is dropped and logged
# once; a 302 is not followed; the server down at the ban, the daemon SIGKILLed and restarted, the
# server up: each event is delivered exactly once; TLS is verified; a ban that runs out sends an
# unban event with reason "expired" (and the jail's action.d actionunban run); a stop keeps what is
# still queued.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

PORT=18480
TOKEN=tk_webhooktoken0123456789
SRV=$RIG_TMP/webhook
mkdir -p "$SRV"
srv_start() {
	rm -f "$SRV/ready"
	"$RIG_PY" "$RIG_LIBDIR/fake_webhook.py" $PORT "$SRV" 2>>"$RIG_TMP/webhook.log" &
	SRV_PID=$!
	_rig_track_pid $SRV_PID
	rig_wait_until 10 test -e "$SRV/ready"
}
srv_stop() { _rig_stop_pid "$SRV_PID"; }
mode() { echo "$1" >"$SRV/mode"; }
# posts PATH IP [STATUS]: how many requests to PATH were about IP (answered STATUS)
posts() {
	"$RIG_PY" - "$SRV/requests.jsonl" "$@" <<'PY'
import json, sys
path, ip, status = sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None
n = 0
try:
    for l in open(sys.argv[1]):
        e = json.loads(l)
        if e["path"] == path and ip in e["body"] and (status is None or str(e["status"]) == status):
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
has_post() { [ "$(posts "$@")" -ge 1 ]; }
queue_empty() {
	"$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json |
		"$RIG_PY" -c 'import json,sys; sys.exit(json.load(sys.stdin)["webhooks"]["pending"] != 0)'
}

srv_start
rig_conf_dir
umask 077
printf '%s\n' "$TOKEN" >"$RIG_TMP/token"
umask 022
cat >>"$RIG_CONF/nftjail.local" <<CONF

[webhook ops]
url = http://127.0.0.1:$PORT/hook
format = json
header = X-Test: yes
token_file = $RIG_TMP/token
timeout = 3
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
action = %(action_)s
         webhook[name=ops]
         webhook[url="http://127.0.0.1:$PORT/ntfy?topic=bans", format=ntfy, timeout=3]
         webhook[url="http://localhost:$PORT/slack", format=slack, timeout=3]
CONF
"$NFTJAIL" test-config --config-dir "$RIG_CONF" >"$RIG_TMP/dump" 2>&1 || { cat "$RIG_TMP/dump"; fail "config refused"; }
grep -q "webhook(ops, json, http://127.0.0.1:$PORT/...)" "$RIG_TMP/dump" || { cat "$RIG_TMP/dump"; fail "test-config does not show the webhook"; }

rig_start_daemon --log-target journal
banned() { rig_nft_elements v4_port | grep -E "^$1 " >/dev/null; }
fail3() { for i in 1 2 3; do rig_log ssh.service sshd "$1"; done; }
HOST=$(hostname)

# 1. a ban: one event to each webhook, with the fields, headers and formats documented
fail3 "Failed password for alice from 192.0.2.66 port 40022 ssh2"
rig_wait_until 10 banned 192.0.2.66
rig_wait_until 15 has_post /hook 192.0.2.66 200
rig_wait_until 15 has_post "/ntfy?topic=bans" 192.0.2.66 200
rig_wait_until 15 has_post /slack 192.0.2.66 200
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0b NFTJAIL_ADDR=192.0.2.66 NFTJAIL_JAIL=sshd
"$RIG_PY" - "$SRV/requests.jsonl" "$HOST" "$TOKEN" <<'PY' || fail "the events of 192.0.2.66 differ"
import datetime, json, re, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
host, token = sys.argv[2], sys.argv[3]
for r in reqs:
    assert "alice" not in json.dumps(r), r          # attacker text never goes in
    assert r["method"] == "POST", r
by = {r["path"]: r for r in reqs if "192.0.2.66" in r["body"]}
assert len([r for r in reqs if "192.0.2.66" in r["body"]]) == 3, reqs
j = by["/hook"]
h, e = j["headers"], j["json"]
assert h["content-type"] == "application/json", h
assert h["authorization"] == "Bearer " + token, h
assert h["x-test"] == "yes" and h["x-nftjail-event"] == "ban", h
assert re.fullmatch(r"[0-9a-f]{32}", e["event_id"]) and h["idempotency-key"] == e["event_id"], (h, e)
assert set(e) == {"event", "event_id", "jail", "address", "prefix", "prefixlen", "failures", "bantime", "expires",
                  "time", "host"}, e
assert (e["event"], e["jail"], e["address"], e["prefix"], e["prefixlen"], e["failures"], e["bantime"]) == \
    ("ban", "sshd", "192.0.2.66", "192.0.2.66/32", 32, 3, 3600), e
assert e["host"] == host[:64], e
fmt = "%Y-%m-%dT%H:%M:%SZ"
t = datetime.datetime.strptime(e["time"], fmt)
x = datetime.datetime.strptime(e["expires"], fmt)
assert (x - t).total_seconds() == 3600, e
assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 60, e
n = by["/ntfy?topic=bans"]
assert n["headers"]["content-type"].startswith("text/plain"), n
assert n["headers"]["title"] == "nftjail sshd: banned 192.0.2.66", n
assert "authorization" not in n["headers"], n
assert n["body"].startswith("Banned 192.0.2.66 (jail sshd) on %s after 3 failures, for 1h, until %s." % (host[:64], e["expires"])) \
    or n["body"].startswith("Banned 192.0.2.66 (jail sshd) on "), n
assert n["headers"]["idempotency-key"] != e["event_id"], n   # one event id per webhook
s = by["/slack"]
assert s["headers"]["content-type"] == "application/json" and list(s["json"]) == ["text"], s
assert s["json"]["text"] == n["body"], (s, n)
print("# json event: " + j["body"], file=sys.stderr)
print("# ntfy body: " + n["body"], file=sys.stderr)
PY

# 2. an unban (nftjail unban): an unban event
rig_ctl unban 192.0.2.66 sshd >/dev/null || fail "unban failed"
rig_wait_until 15 sh -c "grep -q '\"event\": \"unban\"' '$SRV/requests.jsonl'"
"$RIG_PY" - "$SRV/requests.jsonl" <<'PY' || fail "the unban event differs"
import json, sys
u = [json.loads(l) for l in open(sys.argv[1])]
u = [r for r in u if r["path"] == "/hook" and r["json"] and r["json"]["event"] == "unban"]
assert len(u) == 1, u
e = u[0]["json"]
assert (e["jail"], e["address"], e["prefix"], e["reason"]) == ("sshd", "192.0.2.66", "192.0.2.66/32", "manual"), e
assert "failures" not in e and u[0]["headers"]["x-nftjail-event"] == "unban", u
PY

# 3. 500, then 200: delivered after a retry, once
mode 500
fail3 "Failed password for root from 192.0.2.67 port 40022 ssh2"
rig_wait_until 15 has_post /hook 192.0.2.67 500
mode 200
rig_wait_until 30 has_post /hook 192.0.2.67 200
rig_wait_until 30 has_post /slack 192.0.2.67 200
[ "$(posts /hook 192.0.2.67 200)" = 1 ] || fail "192.0.2.67 delivered more than once"
rig_wait_until 10 rig_journal_has NFTJAIL_ADDR=192.0.2.67 MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0b

# 4. 404: dropped and logged once, never retried
mode 404
fail3 "Failed password for root from 192.0.2.68 port 40022 ssh2"
rig_wait_until 15 has_post /hook 192.0.2.68 404
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0c NFTJAIL_ADDR=192.0.2.68 NFTJAIL_JAIL=sshd
rig_wait_until 15 queue_empty

# 5. a 302 is not followed: dropped, logged, nothing asked of /redirected
mode 302
fail3 "Failed password for root from 192.0.2.69 port 40022 ssh2"
rig_wait_until 15 has_post /hook 192.0.2.69 302
rig_wait_until 15 queue_empty
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0c NFTJAIL_ADDR=192.0.2.69
grep -q '"path": "/redirected"' "$SRV/requests.jsonl" && fail "a redirect was followed"
rig_journal_json MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0c >"$RIG_TMP/dropped.json"
[ "$(grep -c '192.0.2.68' "$RIG_TMP/dropped.json")" = 3 ] || fail "want the 404 of 192.0.2.68 logged once per webhook"
for a in 68 69; do
	[ "$(posts /hook 192.0.2.$a)" = 1 ] || fail "192.0.2.$a was retried"
done
mode 200

# 6. the server down at the ban (logged as "connection failed"); SIGKILL; a restart with the server up: each event exactly once
srv_stop
fail3 "Failed password for root from 192.0.2.70 port 40022 ssh2"
rig_wait_until 10 banned 192.0.2.70
rig_wait_until 15 rig_journal_has NFTJAIL_ADDR=192.0.2.70 PRIORITY=4
# the closed port is named as such, in libcurl's words too (not a bare strerror())
refused_logged() {
	rig_journal_json NFTJAIL_ADDR=192.0.2.70 PRIORITY=4 >"$RIG_TMP/down.json"
	grep -q "not delivered to http://127.0.0.1:$PORT/\.\.\. (connection failed: [^)]*port $PORT" "$RIG_TMP/down.json"
}
rig_poll 15 refused_logged || fail "no 'connection failed' warning for the closed port: $(cat "$RIG_TMP/down.json")"
json=$("$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json)
rig_note "report-queue before SIGKILL: $json"
echo "$json" | "$RIG_PY" -c 'import json,sys; d=json.load(sys.stdin)["webhooks"]; assert d["pending"] == 3, d' ||
	fail "want 3 webhook events pending"
"$NFTJAIL" report-queue --state-dir "$RIG_STATE" | grep -qx "webhook events pending: 3" || fail "report-queue text"
rig_kill_daemon
srv_start
rig_start_daemon --log-target journal
rig_wait_until 40 has_post /hook 192.0.2.70 200
rig_wait_until 40 has_post "/ntfy?topic=bans" 192.0.2.70 200
rig_wait_until 40 has_post /slack 192.0.2.70 200
rig_wait_until 15 queue_empty
for p in /hook "/ntfy?topic=bans" /slack; do
	[ "$(posts "$p" 192.0.2.70)" = 1 ] || fail "192.0.2.70 sent to $p $(posts "$p" 192.0.2.70) times"
done
# restored bans at the restart send nothing
[ "$(posts /hook 192.0.2.66)" = 2 ] || fail "the restart sent 192.0.2.66 again"
"$RIG_PY" - "$SRV/requests.jsonl" <<'PY' || fail "an event id was delivered twice"
import json, sys, collections
ok = collections.Counter(json.loads(l)["headers"]["idempotency-key"] for l in open(sys.argv[1])
                         if json.loads(l)["status"] == 200)
assert ok and all(n == 1 for n in ok.values()), ok
PY
out=$("$NFTJAIL" report-queue --state-dir "$RIG_STATE")
rig_note "report-queue: $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -qx "webhook events rejected: 6" || fail "want 6 rejected (404 and 302, three webhooks each)"
# 7. TLS is verified: an https receiver with a self-signed certificate gets no request, and the
#    event stays queued (retried), after a reload that adds a jail with that webhook
TLS=$RIG_TMP/tls
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TLS/key.pem" -out "$TLS/cert.pem" 2>/dev/null || fail "openssl req"
"$RIG_PY" "$RIG_LIBDIR/fake_webhook.py" $((PORT + 1)) "$TLS" "$TLS/cert.pem" "$TLS/key.pem" 2>>"$RIG_TMP/webhook-tls.log" &
_rig_track_pid $!
rig_wait_until 10 test -e "$TLS/ready"
# an action.d file on the short jail: its actionunban runs when the ban runs out, as fail2ban's does
mkdir -p "$RIG_CONF/action.d"
printf '[Definition]\nactionban = echo "ban <ip> <name>" >> <out>\nactionunban = echo "unban <ip> <name>" >> <out>\n[Init]\nout = /nonexistent\n' \
	>"$RIG_CONF/action.d/trail.conf"
cat >"$RIG_CONF/jail.d/tls.local" <<CONF
[tls]
enabled = true
filter = sshd
port = 2223
maxretry = 1
bantime = 1h
action = %(action_)s
         webhook[url="https://127.0.0.1:$((PORT + 1))/tls"]

[short]
enabled = true
filter = sshd
port = 2224
maxretry = 1
bantime = 2
action = %(action_)s
         webhook[url="http://127.0.0.1:$PORT/short"]
         trail[out="$RIG_TMP/short-trail"]
CONF
rig_ctl reload >/dev/null || fail "reload failed"
rig_log ssh.service sshd "Failed password for root from 192.0.2.90 port 40022 ssh2"
rig_wait_until 15 rig_journal_has NFTJAIL_ADDR=192.0.2.90 NFTJAIL_JAIL=tls PRIORITY=4
rig_journal_json NFTJAIL_ADDR=192.0.2.90 NFTJAIL_JAIL=tls PRIORITY=4 | grep -q "not delivered to https://127.0.0.1:$((PORT + 1))/\.\.\." ||
	fail "no 'not delivered' warning for the self-signed receiver"
[ ! -e "$TLS/requests.jsonl" ] || fail "a request reached the receiver with a self-signed certificate"
"$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json |
	"$RIG_PY" -c 'import json,sys; w=json.load(sys.stdin)["webhooks"]; assert w["pending"] == 1, w' ||
	fail "the event to the self-signed receiver is not queued for a retry"
grep -Eqi "unknown ca|certificate" "$RIG_TMP/webhook-tls.log" || rig_note "the TLS server logged no alert: $(tail -3 "$RIG_TMP/webhook-tls.log")"

# 8. a ban that runs out: an unban event with reason "expired", from the once-a-minute gc
expired() {
	"$RIG_PY" - "$SRV/requests.jsonl" <<'PY'
import json, sys
u = [json.loads(l) for l in open(sys.argv[1])]
u = [r for r in u if r["path"] == "/short" and r["json"] and r["json"]["event"] == "unban"]
if not u:
    sys.exit(1)
e = u[0]["json"]
assert len(u) == 1, u
assert (e["jail"], e["address"], e["reason"]) == ("short", "192.0.2.90", "expired"), e
assert u[0]["headers"]["x-nftjail-event"] == "expiry", u
PY
}
rig_wait_until 15 has_post /short 192.0.2.90 200
rig_wait_until 80 expired
# and the jail's actionunban ran once, after its actionban
rig_wait_until 10 grep -q "^unban 192.0.2.90 short$" "$RIG_TMP/short-trail"
[ "$(cat "$RIG_TMP/short-trail")" = "$(printf 'ban 192.0.2.90 short\nunban 192.0.2.90 short')" ] ||
	fail "the short jail's action trail is not one ban then one unban at expiry: $(cat "$RIG_TMP/short-trail")"

# the token shows up nowhere: journal, CLI
rig_journal_json >"$RIG_TMP/all.json"
grep -q "$TOKEN" "$RIG_TMP/all.json" "$RIG_TMP/dump" && fail "the token is in the journal or test-config's output"
# a stop with an event waiting for its retry: the sender stops at once, the daemon exits 0, and the
# event stays queued for the next start
rig_stop_daemon
"$NFTJAIL" report-queue --state-dir "$RIG_STATE" | grep -qx "webhook events pending: 1" || fail "the pending event was lost at the stop"
echo "all ok"
