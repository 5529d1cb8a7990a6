#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A user filter with catastrophic backtracking ("(a+)+$" on long lines of a's) is bounded per line
# by the PCRE2 limits of the match context (the JIT honours the match limit), the daemon says so
# once (not once per line) with the jail and the file:line of the failregex, and the other jails
# keep banning: sshd, fed failures between the hostile lines, bans its offender. status --json
# (lines_limit) and nftjail regex (its "Gave up:" line) count the lines the regex gave up on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
rig_tmpfs /var/log

HOG=/var/log/hog.log AUTH=/var/log/auth.log
N=${REGEX_BOUND_LINES:-60}
rig_conf_dir
# the failregex is on line 3 of the filter file
cat >"$RIG_CONF/filter.d/hog.conf" <<'CONF'
[Definition]
# a regex that backtracks exponentially on "aaa...a!"
failregex = ^\s*client <HOST> said (a+)+$
CONF
cat >"$RIG_CONF/jail.d/test.local" <<CONF
[sshd]
enabled = true
backend = auto
logpath = $AUTH
maxretry = 3
findtime = 1h

[hog]
enabled = true
port = 8080
filter = hog
logpath = $HOG
maxretry = 1
findtime = 1h
CONF
: >"$HOG"
: >"$AUTH"
rig_start_daemon --log-target journal

# a line the regex matches (and bans) is still found: the bound is not a blanket refusal
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
printf '%s client 198.51.100.7 said aaaa\n' "$(stamp)" >>"$HOG"
rig_wait_until 10 rig_nft_has "^198\.51\.100\.7 tcp 8080 " v4_port

long=$(head -c 8000 /dev/zero | tr '\0' a)
for i in $(seq 1 "$N"); do
	printf '%s client 192.0.2.9 said %s!\n' "$(stamp)" "$long" >>"$HOG"
	if [ $((i % 20)) = 0 ]; then
		printf '%s host sshd[%d]: Failed password for root from 203.0.113.7 port 4000 ssh2\n' "$(stamp)" "$i" >>"$AUTH"
	fi
done
rig_wait_until 60 rig_file_caught_up hog "$HOG"
rig_wait_until 10 rig_nft_has "^203\.0\.113\.7 tcp 22 " v4_port
! rig_nft_has "^192\.0\.2\.9 " || fail "the hostile lines were counted as failures"
rig_daemon_alive || fail "nftjaild died"

# once, with the jail and the failregex's file:line
msgs=$(journalctl -q --no-pager -o cat "_PID=$RIG_DAEMON_PID" | grep -F "PCRE2" || true)
[ "$(grep -c . <<<"$msgs")" = 1 ] || fail "expected one report of the bound, got: '$msgs'"
grep -qF "hog: " <<<"$msgs" || fail "the report does not name the jail: $msgs"
grep -qF "$RIG_CONF/filter.d/hog.conf:3" <<<"$msgs" || fail "the report does not name hog.conf:3: $msgs"
rig_note "reported: $msgs"
# status --json counts the lines the regex gave up on
rig_ctl --json status hog | "$RIG_PY" -c '
import json, sys
d = json.load(sys.stdin)
j = d["jail"]
assert j["lines_limit"] == '"$N"', j' || fail "status --json: lines_limit is not $N"
rig_stop_daemon

# nftjail regex over the same file says how many lines the regex gave up on, where first, and
# which regex (file:line); they count as missed
out=$("$NFTJAIL" regex "$HOG" "$RIG_CONF/filter.d/hog.conf") || fail "nftjail regex failed"
grep -qE "^Missed: $N\$" <<<"$out" || fail "nftjail regex: missed is not $N: $out"
grep -qF "Gave up: $N of the missed lines at a PCRE2 limit, first line 2, by the failregex at $RIG_CONF/filter.d/hog.conf:3" <<<"$out" ||
	fail "nftjail regex does not report the lines it gave up on: $(grep -A2 Missed <<<"$out")"
