# SPDX-License-Identifier: GPL-2.0-or-later
# The real MTA path of the mail tests, inside the rig (source after lib.sh and rig_enter):
# msmtp-mta's /usr/sbin/sendmail relays to smtp_sink.py, a real SMTP server (aiosmtpd) on our
# private loopback. msmtp reads /etc/msmtprc: an overlay on /etc in our private mount namespace
# holds the test's file, so the host's /etc is never written.

# mail_setup: MAIL_DIR receives the messages (N.eml, N.env).
mail_setup() {
	[ -x /usr/sbin/sendmail ] && [ -x /usr/bin/msmtp ] || skip "msmtp-mta is not installed (tools/install-deps.sh)"
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is not installed (tools/install-deps.sh)"
	mkdir -p "$RIG_TMP/etc-upper" "$RIG_TMP/etc-work"
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$RIG_TMP/etc-upper,workdir=$RIG_TMP/etc-work" /etc ||
		fail "mail_setup: cannot mount an overlay on /etc"
	MAIL_PORT=2525
	cat >/etc/msmtprc <<CONF
defaults
auth off
tls off
syslog off
logfile $RIG_TMP/msmtp.log
account default
host 127.0.0.1
port $MAIL_PORT
from nftjail@example.org
CONF
	chmod 0644 /etc/msmtprc
	[ ! -e "$RIG_TMP/etc-upper/msmtprc" ] && fail "mail_setup: msmtprc is not in the overlay"
	MAIL_DIR=$RIG_TMP/mail
	mkdir -p "$MAIL_DIR"
	/usr/bin/python3 "$SRCDIR/tests/integration/smtp_sink.py" "$MAIL_DIR" "$MAIL_PORT" \
		>"$RIG_TMP/smtp.log" 2>&1 &
	MAIL_SINK_PID=$!
	_rig_track_pid "$MAIL_SINK_PID"
	rig_wait_until 15 grep -q ready "$RIG_TMP/smtp.log"
	export MAIL_DIR
}

mail_count() {
	find "$MAIL_DIR" -name '*.eml' | wc -l
}

mail_count_ge() {
	[ "$(mail_count)" -ge "$1" ]
}
