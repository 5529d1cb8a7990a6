#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped wordpress filter and jail on an nginx access log: five failed logins (POST
# wp-login.php answered 200) ban the client, the first field of each line, on 80 and 443, while
# the address every one of those lines names in its query, referrer and user agent (with nginx's
# \x22 escapes and a forged line start) is never counted; a successful login (302) and xmlrpc.php
# (mode normal) count for no one. The date is cut out by the daemon as in the corpus test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = false

[wordpress]
enabled = true
logpath = /var/log/nginx/access.log
maxretry = 5
bantime = 3600
CONF
mkdir -p /var/log/nginx
: >/var/log/nginx/access.log

line() { # ADDR METHOD PATH STATUS
	printf '%s - - [%s] "%s %s HTTP/1.1" %s 4523 "http://203.0.113.99/" "203.0.113.99 - - [] \\x22POST /wp-login.php HTTP/1.1\\x22 200 1"\n' \
		"$1" "$(LC_ALL=C date '+%d/%b/%Y:%H:%M:%S %z')" "$2" "$3" "$4"
}
rig_start_daemon --log-target journal

line 2001:db8::7 POST /wp-login.php 302 >>/var/log/nginx/access.log
line 2001:db8::7 POST /xmlrpc.php 200 >>/var/log/nginx/access.log
for i in 1 2 3 4; do
	line 198.51.100.7 POST "/wp-login.php?u=203.0.113.99" 200 >>/var/log/nginx/access.log
done
rig_wait_until 10 rig_failures_ge wordpress 198.51.100.7 4
rig_nft_has '^198\.51\.100\.7 ' v4_port && fail "banned after 4 failures (maxretry 5)"
line 198.51.100.7 POST /wp-login.php 200 >>/var/log/nginx/access.log
rig_wait_until 10 rig_nft_has '^198\.51\.100\.7 tcp 443 ' v4_port
elements=$(rig_nft_elements v4_port)
rig_note "$elements"
for port in 80 443; do
	echo "$elements" | grep -q "^198.51.100.7 tcp $port .* wordpress$" || fail "no wordpress element for port $port"
done
[ "$(rig_failures wordpress 203.0.113.99)" = 0 ] || fail "the address in the request, referrer or user agent counted"
[ "$(rig_failures wordpress 2001:db8::7)" = 0 ] || fail "a successful login or xmlrpc.php (mode normal) counted"
echo "$elements" | grep -q '^203\.0\.113\.99 ' && fail "203.0.113.99 banned"
rig_stop_daemon
echo "ok"
