#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lints fail2ban's stock filters (its package's filter.d, with its own common.conf) with
# `nftjail regex --lint` and prints the count of warnings per filter, as docs/COMPATIBILITY.md
# shows it: a figure, not a pass/fail. fail2ban's files come from its Debian package, installed or
# unpacked into a temporary directory here (apt-get download + dpkg-deb -x, as tools/fetch-f2b-
# samples.sh does); nothing of it is kept. Usage: f2b-lint.sh NFTJAIL
set -euo pipefail
nftjail=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=
for d in /etc/fail2ban /var/cache/nftjail-tests/fail2ban/etc/fail2ban; do
	[ -f "$d/filter.d/sshd.conf" ] && D=$d && break
done
if [ -z "$D" ]; then
	(cd "$T" && apt-get download -qq fail2ban >/dev/null 2>&1 && dpkg-deb -x fail2ban_*.deb root) ||
		{ echo "SKIP: cannot get fail2ban's package"; exit 77; }
	D=$T/root/etc/fail2ban
fi
total=0 filters=0 warned=0 skipped=""
declare -A per_rule=()
echo "| filter | warnings | rules |"
echo "| --- | --- | --- |"
for f in "$D"/filter.d/*.conf; do
	n=$(basename "$f" .conf)
	rc=0
	out=$("$nftjail" regex --config-dir "$D" --lint "$n" 2>&1) || rc=$?
	if [ "$rc" = 2 ]; then
		skipped="$skipped $n"
		continue
	fi
	filters=$((filters + 1))
	c=$(printf '%s\n' "$out" | grep -c ': warning: ' || true)
	[ "$c" = 0 ] && continue
	warned=$((warned + 1))
	total=$((total + c))
	rules=$(printf '%s\n' "$out" | sed -n 's/.*\[\([a-z-]*\)\]$/\1/p' | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
	for r in $(printf '%s\n' "$out" | sed -n 's/.*\[\([a-z-]*\)\]$/\1/p'); do per_rule[$r]=$((${per_rule[$r]:-0} + 1)); done
	echo "| $n | $c | $rules |"
done
echo
echo "$filters filters linted, $warned with warnings, $total warnings in all; not filters (no failregex of their own, or an include that does not stand alone):$skipped"
for r in "${!per_rule[@]}"; do echo "  $r: ${per_rule[$r]}"; done | sort
