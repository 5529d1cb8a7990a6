#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The sshd jail end to end: entries with journald's trusted fields (sshd and sshd-session in
# ssh.service) -> filter -> counter -> element in the kernel set; IPv6; what must never be
# banned: forged lines (logger -t sshd from a local user, a copy of logger named sshd run by a
# user in ssh.service), ignoreip, loopback, addresses injected through the user name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
ignoreip = 127.0.0.1/8 ::1 198.51.100.0/24
CONF
rig_attacker_ns
rig_listen 22 2222

# the table does not exist yet: the daemon loads it
rig_nft list table inet nftjail >/dev/null 2>&1 && fail "table exists before the daemon started"
rig_start_daemon --log-target journal
rig_nft list table inet nftjail >/dev/null || fail "the daemon did not load table inet nftjail"

banned() { rig_nft_has "^$1 tcp 22 " "${2:-v4_port}"; }
fail3() { # fail3 UNIT COMM MESSAGE: three times
	for i in 1 2 3; do rig_log "$1" "$2" "$3"; done
}

# before any ban the attacker reaches port 22
rig_connect 192.0.2.1 22 || fail "attacker cannot reach port 22 before any ban"

# 1. sshd in ssh.service (Debian), IPv4: banned on port 22 with the jail's timeout and comment
fail3 ssh.service sshd "Failed password for root from 192.0.2.66 port 40022 ssh2"
rig_wait_until 10 banned 192.0.2.66
line=$(rig_nft_elements v4_port | grep '^192.0.2.66 ')
rig_note "element: $line"
[ "$(echo "$line" | awk '{print $4}')" = 3600000 ] || [ "$(echo "$line" | awk '{print $4}')" = 3600 ] ||
	fail "timeout is not 1h: $line"
echo "$line" | grep -q ' sshd$' || fail "comment is not sshd: $line"
rig_connect 192.0.2.1 22 && fail "banned attacker still reaches port 22"
rig_connect 192.0.2.1 2222 || fail "the ban must cover port 22 only, yet 2222 is blocked"

# 2. OpenSSH 9.8+: sshd-session, IPv6
fail3 ssh.service sshd-session "Invalid user admin from 2001:db8::66 port 40100"
rig_wait_until 10 banned 2001:db8::66 v6_port
rig_connect 2001:db8::1 22 && fail "banned IPv6 attacker still reaches port 22"

# 3. never banned: a forged line from a local user's logger -t sshd, ignoreip, loopback, an address
#    injected through the user name. Each gets maxretry+ lines; then a sentinel address is banned
#    through the same journal, so every line before it has been read when we check.
for i in 1 2 3 4; do
	rig_log_untrusted sshd "Failed password for root from 203.0.113.77 port 22 ssh2" 1000
	rig_log ssh.service sshd "Failed password for root from 198.51.100.7 port 22 ssh2"
	rig_log ssh.service sshd "Failed password for root from 127.0.0.1 port 22 ssh2"
	rig_log ssh.service sshd "Failed password for root from ::1 port 22 ssh2"
	rig_log ssh.service sshd "Failed password for invalid user x from 203.0.113.99 port 22 from 192.0.2.50 port 4$i ssh2"
	rig_log ssh.service sshd "Invalid user rhost=203.0.113.98 from 192.0.2.51 port 4$i"
done
# a line from a process in ssh.service that is not root: without pam_systemd a user's shell
# stays in ssh.service and can run a copy of logger named sshd
for i in 1 2 3 4; do rig_log ssh.service sshd 1000 "Failed password for root from 203.0.113.97 port 22 ssh2"; done
fail3 ssh.service sshd "Failed password for root from 192.0.2.200 port 40022 ssh2"
rig_wait_until 10 banned 192.0.2.200

elements=$(rig_nft_elements)
rig_note "elements: $elements"
for a in 203.0.113.77 198.51.100.7 127.0.0.1 ::1 203.0.113.99 203.0.113.98 203.0.113.97; do
	echo "$elements" | grep -q " $a " && fail "$a was banned"
	echo "$elements" | awk '{print $2}' | grep -qx "$a" && fail "$a was banned"
done
# the injected lines still count against their real source
echo "$elements" | awk '{print $2}' | grep -qx 192.0.2.50 || fail "192.0.2.50 (the real source) was not banned"
echo "$elements" | awk '{print $2}' | grep -qx 192.0.2.51 || fail "192.0.2.51 (the real source) was not banned"

# 4. the ban event is in the journal with its MESSAGE_ID and structured fields, the matched
#    lines as evidence
ban_mid=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01
rig_journal_json MESSAGE_ID=$ban_mid NFTJAIL_ADDR=192.0.2.66 >"$RIG_TMP/ban.json"
python3 - "$RIG_TMP/ban.json" <<'PY' || fail "ban event fields differ"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(entries) == 1, f"want one ban event for 192.0.2.66, got {len(entries)}"
e = entries[0]
want = {"NFTJAIL_JAIL": "sshd", "NFTJAIL_ADDR": "192.0.2.66", "NFTJAIL_FAILURES": "3",
        "NFTJAIL_BANTIME": "3600", "PRIORITY": "5", "SYSLOG_IDENTIFIER": "nftjaild",
        "MESSAGE": "sshd: banned 192.0.2.66 for 1h after 3 failures"}
for k, v in want.items():
    assert e.get(k) == v, f"{k}: {e.get(k)!r} != {v!r}"
ev = e["NFTJAIL_EVIDENCE"].split("\n")
assert len(ev) == 3, ev
assert all("Failed password for root from 192.0.2.66 port 40022 ssh2" in l for l in ev), ev
PY
# failures are events too, and the forged line left no trace at all
[ -n "$(rig_journal_json MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04 NFTJAIL_ADDR=192.0.2.66)" ] ||
	fail "no failure event for 192.0.2.66"
[ -z "$(rig_journal_json MESSAGE_ID=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04 NFTJAIL_ADDR=203.0.113.77)" ] ||
	fail "the forged line was counted as a failure"

rig_stop_daemon
# bans stay in the kernel after a clean stop
banned 192.0.2.66 || { rig_nft list table inet nftjail; fail "ban vanished when the daemon stopped"; }
echo "ok"
