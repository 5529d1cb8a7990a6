#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-man.sh MANDIR NFTJAIL NFTJAILD: every page of MANDIR renders with man-db and groff
# without a warning, and every option (and command) that the programs' --help prints is named
# in their page: nftjail --help and each command's --help in nftjail.1, nftjaild --help in
# nftjaild.8.
set -euo pipefail
mandir=$1 cli=$2 daemon=$3
fail=0
for page in "$mandir"/*.[1-8]; do
	w=$( { LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >/dev/null; } 2>&1; groff -ww -z -man "$page" 2>&1)
	if [ -n "$w" ]; then
		echo "FAIL: $page renders with warnings:" >&2
		echo "$w" >&2
		fail=1
	else
		echo "ok: $page renders without warnings"
	fi
done

# The options of a help text: --long and -s spellings at the start of an option line or in a
# usage line.
opts_of() {
	grep -oE '(^|[][ ,|])--?[a-zA-Z][a-zA-Z-]*' | sed -E 's/^[][ ,|]//' | sort -u
}
# The page as plain text, unhyphenated and wide, so that an option is never split across lines.
render() {
	sed '/^\.TH /a .nh\n.ll 200n' "$1" | groff -man -Tascii -P-cbou 2>/dev/null
}
check_page() { # page, name of the help, help text on stdin
	local page=$1 what=$2 text opt
	text=$(render "$page")
	while read -r opt; do
		[ -n "$opt" ] || continue
		if grep -qF -e "$opt" <<<"$text"; then
			:
		else
			echo "FAIL: $what prints $opt, $(basename "$page") does not name it" >&2
			fail=1
		fi
	done < <(opts_of)
}
check_page "$mandir/nftjail.1" "nftjail --help" < <("$cli" --help)
mapfile -t cmds < <("$cli" --help | sed -n '/^Available commands:/,/^$/s/^  \([a-z-][a-z-]*\) .*/\1/p')
[ ${#cmds[@]} -gt 5 ] || { echo "FAIL: no commands read from nftjail --help" >&2; exit 1; }
text=$(render "$mandir/nftjail.1")
for c in "${cmds[@]}"; do
	grep -qE "^ +$c( |$)" <<<"$text" || { echo "FAIL: nftjail.1 has no entry for the command $c" >&2; fail=1; }
	check_page "$mandir/nftjail.1" "nftjail $c --help" < <("$cli" "$c" --help 2>&1)
done
check_page "$mandir/nftjaild.8" "nftjaild --help" < <("$daemon" --help)
[ $fail = 0 ] && echo "ok: every option of nftjail, its ${#cmds[@]} commands and nftjaild is in its page"
exit $fail
