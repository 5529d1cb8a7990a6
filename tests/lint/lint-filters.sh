#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `nftjail regex --lint`: every shipped filter (conf/filter.d, in each mode it has) lints clean
# (exit 0, no output), each deliberately bad filter in tests/lint/filter.d gives exactly its one
# warning (exit 1, "FILE:4: warning: failregex: ... [RULE]", RULE named in the file's first
# line), and a missing filter is an error that names it (exit 2).
# Usage: lint-filters.sh NFTJAIL SRCDIR
set -uo pipefail
nftjail=$1 src=$2
fail=0 n=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for f in "$src"/conf/filter.d/*.conf; do
	name=$(basename "$f" .conf)
	[ "$name" = common ] && continue
	modes=("")
	# the modes a filter defines: mdre-NAME or a mode-specific option
	for m in $(sed -n 's/^mdre-\([a-z]*\) *=.*/\1/p' "$f" | sort -u); do modes+=("[mode=$m]"); done
	for m in "${modes[@]}"; do
		n=$((n + 1))
		out=$("$nftjail" regex --config-dir "$src/conf" --lint "$name$m" 2>&1)
		rc=$?
		if [ "$rc" != 0 ] || [ -n "$out" ]; then
			echo "FAIL: shipped filter $name$m: exit $rc: $out"
			fail=1
		fi
	done
done

mkdir -p "$T/c/filter.d"
cp "$src"/conf/filter.d/common.conf "$src"/tests/lint/filter.d/*.conf "$T/c/filter.d/"
for f in "$src"/tests/lint/filter.d/*.conf; do
	name=$(basename "$f" .conf)
	rule=$(sed -n '1s/.*must say \[\([a-z-]*\)\].*/\1/p' "$f")
	n=$((n + 1))
	out=$("$nftjail" regex --config-dir "$T/c" --lint "$name" 2>&1)
	rc=$?
	want="$T/c/filter.d/$name.conf:4: warning: failregex: "
	if [ "$rc" != 1 ] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] || [[ "$out" != "$want"*"[$rule]" ]]; then
		echo "FAIL: $name: want exit 1 and one [$rule] at line 4, got exit $rc: $out"
		fail=1
	fi
done

n=$((n + 1))
out=$("$nftjail" regex --config-dir "$T/c" --lint sshd-nosuch 2>&1)
rc=$?
if [ "$rc" != 2 ] || [[ "$out" != *"'sshd-nosuch'"* ]]; then
	echo "FAIL: a missing filter: want exit 2 naming it, got exit $rc: $out"
	fail=1
fi
echo "lint: $n checks, $([ $fail = 0 ] && echo all passed || echo some failed)"
exit $fail
