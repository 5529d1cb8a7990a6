#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guide's Drupal case: [drupal-auth] with action = %(action_mwl)s and destemail reads a
# syslog file; three failed Drupal logins from one address ban it in the kernel set and send
# exactly one mail to admin@example.org through the real /usr/sbin/sendmail (msmtp-mta, to a
# real SMTP server on loopback). The arrived message's headers and body are checked; user names
# with CR, LF-looking text and header lines never reach a header. A restored ban sends nothing
# after a restart; a burst past mailrate gives one digest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
. "$(dirname "$0")/mail-lib.sh"
rig_tmpfs /var/log
mail_setup

rig_conf_dir
cat >"$RIG_CONF/jail.d/drupal.local" <<'CONF'
[sshd]
enabled = false

[drupal-auth]
enabled = true
logpath = /var/log/syslog
maxretry = 3
action = %(action_mwl)s
destemail = admin@example.org
mailrate = 2
CONF
: >/var/log/syslog

drupal() { # ADDR USER
	printf '%s web drupal: https://www.example.org|%s|user|%s|https://www.example.org/user/login|https://www.example.org/user/login|0||Login attempt failed for %s.\n' \
		"$(LC_ALL=C date '+%b %e %H:%M:%S')" "$(date +%s)" "$1" "$2" >>/var/log/syslog
}

rig_start_daemon --log-target journal
host=$(hostname)
# the user names are the attacker's: a CR and a header line, an address, a Subject
drupal 203.0.113.5 $'admin\rBcc: evil@example.org'
drupal 203.0.113.5 'x
To: evil2@example.org'
drupal 203.0.113.5 'Subject: hi 198.51.100.66'
drupal 203.0.113.5 $'\xc3\xa9t\xc3\xa9 "quoted" <root@example.org>'
rig_wait_until 10 rig_nft_has '^203\.0\.113\.5 tcp 443 ' v4_port
rig_nft_has '^203\.0\.113\.5 tcp 80 ' v4_port || fail "no element for port 80"
rig_wait_until 30 mail_count_ge 1
m=$MAIL_DIR/1.eml
rig_note "$(cat "$m")"
[ "$(sed -n 2p "$MAIL_DIR/1.env")" = admin@example.org ] || fail "envelope recipient: $(cat "$MAIL_DIR/1.env")"
[ "$(wc -l <"$MAIL_DIR/1.env")" = 2 ] || fail "more than one recipient: $(cat "$MAIL_DIR/1.env")"
/usr/bin/python3 - "$m" "$host" <<'PY' || fail "the message is not as expected"
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
host = sys.argv[2]
msg = email.message_from_bytes(raw, policy=email.policy.default)
head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
names = [n.lower() for n in msg.keys()]
for want in ("date", "message-id", "from", "to", "subject", "mime-version", "content-type"):
    assert names.count(want) == 1, (want, names)
assert "bcc" not in names and "cc" not in names, names
assert msg["To"] == "admin@example.org", msg["To"]
assert msg["Subject"] == f"[nftjail] drupal-auth: banned 203.0.113.5 from {host}", msg["Subject"]
assert msg["From"] == '"nftjail" <root@localhost>' or msg["From"] == "nftjail <root@localhost>", msg["From"]
assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
assert msg["Message-ID"].startswith("<nftjail.") and msg["Message-ID"].endswith(f"@{host}>")
for bad in (b"evil", b"198.51.100.66", b"Login attempt", b"quoted", b"User name"):
    assert bad not in head, (bad, head)
text = body.decode()
assert "banned 203.0.113.5 in jail 'drupal-auth'" in text, text
assert "Failures: 3 (maxretry 3) within 10m (findtime)" in text, text
assert "Ban time: 10m" in text, text
assert "Matched lines" in text, text
# the CR arrives escaped, inside one indented line; the "To:" line is not a line of its own
assert "Login attempt failed for admin\\x0dBcc: evil@example.org." in text, text
assert "Login attempt failed for Subject: hi 198.51.100.66." in text, text
# the user name of the failure that reached maxretry (<F-USER>), escaped, in the body only
lines = text.splitlines()
assert "User name given by the client (escaped):" in lines, text
assert lines[lines.index("User name given by the client (escaped):") + 1] == \
    '    \\xc3\\xa9t\\xc3\\xa9 \\"quoted\\" <root@example.org>', text
for line in text.splitlines():
    assert not line.startswith(("To:", "Bcc:", "Subject:")), line
PY
# 'x' and 'To: ...' were two lines in the file: neither is a failure
[ "$(rig_failures drupal-auth 203.0.113.5)" = 3 ] || fail "want 3 failures"
journalctl -q --no-pager -o cat NFTJAIL_JAIL=drupal-auth NFTJAIL_ADDR=203.0.113.5 |
	grep -qxF 'drupal-auth: mail about 203.0.113.5 handed to sendmail for admin@example.org' ||
	fail "the mail is not logged"

# a restart restores the ban: no mail for it; a new ban mails
rig_stop_daemon
[ "$(mail_count)" = 1 ] || fail "want exactly 1 mail, got $(mail_count)"
rig_nft "flush set inet nftjail v4_port"
rig_start_daemon --log-target journal
rig_wait_until 10 rig_nft_has '^203\.0\.113\.5 tcp 443 ' v4_port
for i in 1 2 3; do drupal 198.51.100.20 bob; done
rig_wait_until 10 rig_nft_has '^198\.51\.100\.20 tcp 443 ' v4_port
rig_wait_until 30 mail_count_ge 2
grep -q '^Subject: \[nftjail\] drupal-auth: banned 198.51.100.20 from ' "$MAIL_DIR/2.eml" || fail "mail 2: $(cat "$MAIL_DIR/2.eml")"

# a burst: mailrate = 2 a period, so one more mail and then a digest (sent at the stop)
for a in 1 2 3 4 5; do for i in 1 2 3; do drupal "192.0.2.$a" carol; done; done
for a in 1 2 3 4 5; do rig_wait_until 10 rig_nft_has "^192\\.0\\.2\\.$a tcp 443 " v4_port; done
rig_wait_until 30 mail_count_ge 3
rig_stop_daemon
[ "$(mail_count)" = 4 ] || fail "want 4 mails (1 + 1 + 1 + a digest), got $(mail_count)"
grep -q '^Subject: \[nftjail\] drupal-auth: banned 192.0.2.1 from ' "$MAIL_DIR/3.eml" || fail "mail 3: $(cat "$MAIL_DIR/3.eml")"
d=$MAIL_DIR/4.eml
rig_note "$(cat "$d")"
grep -q '^Subject: \[nftjail\] drupal-auth: 4 more bans from ' "$d" || fail "no digest: $(cat "$d")"
for a in 2 3 4 5; do grep -q "  192\\.0\\.2\\.$a  3 failures" "$d" || fail "the digest lacks 192.0.2.$a"; done
grep -q '203.0.113.5' "$MAIL_DIR"/[234].eml && fail "a mail for the restored ban"
echo "ok"
