#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fail2ban's stock action.d files, copied into an nftjail configuration as they are, each named
# in a jail's action line after %(action_)s: every one loads (nftjail test-config exits 0), except
# abuseipdb, whose line needs abuseipdb_category for the built-in reporter. The files come from
# fail2ban's Debian package (installed, or unpacked by tools/fetch-f2b-samples.sh); without them
# the test is skipped. Usage: f2b-actions.sh NFTJAIL CONF_DIR
set -euo pipefail
nftjail=$1 conf=$2
A=
for d in /etc/fail2ban/action.d /var/cache/nftjail-tests/fail2ban/etc/fail2ban/action.d; do
	[ -f "$d/iptables.conf" ] && A=$d && break
done
[ -n "$A" ] || { echo "SKIP: no fail2ban action.d (tools/fetch-f2b-samples.sh)"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cp -a "$conf" "$T/c"
mkdir -p "$T/c/action.d"
cp "$A"/*.conf "$T/c/action.d/"
ok=0 failed=0
for f in "$A"/*.conf; do
	n=$(basename "$f" .conf)
	printf '[sshd]\naction = %%(action_)s\n         %s\n' "$n" >"$T/c/jail.local"
	if "$nftjail" test-config --config-dir "$T/c" >"$T/out" 2>&1; then
		ok=$((ok + 1))
	elif [ "$n" = abuseipdb ] && grep -q 'needs abuseipdb_category' "$T/out"; then
		ok=$((ok + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $n: $(grep -m1 'error' "$T/out" || tail -1 "$T/out")"
	fi
done
echo "fail2ban action.d files: $ok load, $failed fail"
[ "$failed" = 0 ]
