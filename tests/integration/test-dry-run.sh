#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Dry run: a jail with dryrun = true matches, counts and logs "would ban" (MESSAGE_ID ...6b0d,
# NFTJAIL_DRYRUN=1), and nftjail status shows it, but nothing reaches the kernel and its webhook
# sends nothing, while a jail beside it on the same lines bans as usual; nftjaild --dry-run puts
# every jail in dry run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

PORT=18481
SRV=$RIG_TMP/webhook
mkdir -p "$SRV"
"$RIG_PY" "$RIG_LIBDIR/fake_webhook.py" $PORT "$SRV" 2>>"$RIG_TMP/webhook.log" &
_rig_track_pid $!
rig_wait_until 10 test -e "$SRV/ready"
posts() { local n; n=$(grep -c "\"path\": \"$1\".*${2:-}" "$SRV/requests.jsonl" 2>/dev/null) || true; echo "${n:-0}"; }

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
dryrun = true
maxretry = 3
bantime = 1h
action = %(action_)s
         webhook[url="http://127.0.0.1:$PORT/dry"]

[sshd-real]
enabled = true
filter = sshd
port = 2222
maxretry = 4
bantime = 1h
action = %(action_)s
         webhook[url="http://127.0.0.1:$PORT/real"]
CONF
"$NFTJAIL" test-config --config-dir "$RIG_CONF" >"$RIG_TMP/dump" 2>&1 || { cat "$RIG_TMP/dump"; fail "config refused"; }
grep -q '^  dryrun: yes' "$RIG_TMP/dump" || { cat "$RIG_TMP/dump"; fail "test-config does not show the dry run"; }

rig_start_daemon --log-target journal
fail_n() { for i in $(seq 1 "$2"); do rig_log ssh.service sshd "Failed password for root from $1 port 40022 ssh2"; done; }
elements() { rig_nft_elements v4_port >"$RIG_TMP/elements"; grep -E "^$1 " "$RIG_TMP/elements" || true; }
jail_json() {
	rig_ctl status --json | "$RIG_PY" -c '
import json, sys
d = json.load(sys.stdin)
j = [j for j in d["jails"] if j["name"] == sys.argv[1]][0]
print(j.get("dryrun", False), j.get("would_ban_total", 0), j["bans_total"])' "$1"
}

# 1. per jail: sshd would ban at 3 failures, sshd-real bans at 4
fail_n 192.0.2.50 4
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0d NFTJAIL_JAIL=sshd NFTJAIL_ADDR=192.0.2.50 \
	NFTJAIL_DRYRUN=1 NFTJAIL_FAILURES=3 NFTJAIL_BANTIME=3600
rig_journal_has MESSAGE="sshd: would ban 192.0.2.50 for 1h after 3 failures (dry run)" || fail "no 'would ban' message"
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01 NFTJAIL_JAIL=sshd-real NFTJAIL_ADDR=192.0.2.50
got=$(elements 192.0.2.50)
[ "$got" != "${got/tcp 2222/}" ] || fail "sshd-real did not ban: $got"
[ "$got" = "${got/tcp 22 /}" ] || fail "the dry-run jail banned: $got"
rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01 NFTJAIL_JAIL=sshd && fail "a ban event from the dry-run jail"
# the webhook thread sends in order: once sshd-real's event is there, sshd's would be too
rig_wait_until 15 sh -c "grep -q '\"path\": \"/real\"' '$SRV/requests.jsonl'"
[ "$(posts /dry)" = 0 ] || fail "the dry-run jail sent a webhook"
[ "$(jail_json sshd)" = "True 1 0" ] || fail "status of sshd: $(jail_json sshd), want dry run, 1 would-ban, 0 bans"
[ "$(jail_json sshd-real)" = "False 0 1" ] || fail "status of sshd-real: $(jail_json sshd-real)"
rig_ctl status | grep -qx "  dry run: would ban 1 (nothing goes to the kernel)" || { rig_ctl status; fail "status text"; }
rig_ctl status sshd | grep -q "Would ban: *1 (dry run" || { rig_ctl status sshd; fail "status sshd text"; }
# the count starts again after a "would ban": three more make the second
fail_n 192.0.2.50 2
would2() { [ "$(jail_json sshd)" = "True 2 0" ]; }
rig_wait_until 10 would2

# 2. nftjaild --dry-run: every jail, also one without dryrun in its file
rig_stop_daemon
rig_start_daemon --log-target journal --dry-run
fail_n 192.0.2.51 4
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0d NFTJAIL_JAIL=sshd-real NFTJAIL_ADDR=192.0.2.51 \
	NFTJAIL_FAILURES=4
# each journal jail reads with a journal handle of its own: one may see the entries a journald
# notification later than the other (up to ~0.6 s after a quiet spell, source-journal.c)
rig_wait_until 10 rig_journal_has MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0d NFTJAIL_JAIL=sshd NFTJAIL_ADDR=192.0.2.51 ||
	fail "sshd did not log its would-ban of 192.0.2.51"
[ -z "$(elements 192.0.2.51)" ] || fail "--dry-run banned: $(elements 192.0.2.51)"
[ "$(jail_json sshd-real)" = "True 1 1" ] || fail "status of sshd-real under --dry-run: $(jail_json sshd-real)"
# webhook events are queued when the ban is made: none queued, none sent beyond sshd-real's first
"$NFTJAIL" report-queue --state-dir "$RIG_STATE" --json | "$RIG_PY" -c '
import json, sys
w = json.load(sys.stdin)["webhooks"]
assert w["pending"] == 0 and w["delivered"] == 1, w' || fail "a webhook event was queued under --dry-run"
[ "$(posts /real 192.0.2.51)" = 0 ] && [ "$(posts /dry)" = 0 ] || fail "a webhook was sent under --dry-run"
echo "all ok"
