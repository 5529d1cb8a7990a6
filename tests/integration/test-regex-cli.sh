#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nftjail regex: the offline filter tester on a syslog-style file, by filter name, with filter
# options, by path and as a literal regex; --json output checked line by line; a bad filter is
# exit 1 with file:line and the PCRE2 offset. Needs no root.
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/auth.log" <<'LOG'
Nov 24 13:05:01 bastion sshd[1201]: Failed password for root from 192.0.2.10 port 40001 ssh2
Nov 24 13:05:02 bastion sshd[1201]: Accepted publickey for admin from 198.51.100.20 port 40002 ssh2: ED25519 SHA256:abc
Nov 24 13:05:03 bastion sshd-session[1202]: Invalid user oracle from 2001:db8::10 port 40003
Nov 24 13:05:04 bastion sshd[1203]: Failed password for invalid user x from 203.0.113.99 port 22 from 192.0.2.11 port 40004 ssh2
Nov 24 13:05:05 bastion CRON[1204]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)
Nov 24 13:05:06 bastion sshd[1205]: Failed password for root from ::ffff:192.0.2.12 port 40005 ssh2
LOG

# by name, JSON: exactly the failures, with their real source addresses and line numbers
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json "$tmp/auth.log" sshd >"$tmp/json" 2>"$tmp/err" || { cat "$tmp/err"; fail "regex sshd failed"; }
python3 - "$tmp/json" <<'PY' || fail "JSON output differs"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = [(1, "192.0.2.10"), (3, "2001:db8::10"), (4, "192.0.2.11"), (6, "192.0.2.12")]
pairs = [(g["line"], g["host"]) for g in got]
if pairs != want:
    print("got", pairs, "want", want); sys.exit(1)
for g in got:
    if not isinstance(g["time"], int) or g["time"] <= 0:
        print("bad time", g); sys.exit(1)
# <F-USER>: the user name as sshd wrote it, a client's "from ADDR port N" in it too
users = [g.get("user") for g in got]
if users != ["root", "oracle", "x from 203.0.113.99 port 22", "root"]:
    print("users", users); sys.exit(1)
PY
echo "ok: --json by name"

# summary output names the counts
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" "$tmp/auth.log" sshd >"$tmp/out" 2>&1 || fail "regex summary failed"
grep -Eq "^Lines: 6 lines" "$tmp/out" || { cat "$tmp/out"; fail "summary lacks 'Lines: 6 lines'"; }
grep -Eq "^Failregex: 4 total" "$tmp/out" || { cat "$tmp/out"; fail "summary lacks 'Failregex: 4 total'"; }
grep -Eq "^Missed: 2" "$tmp/out" || fail "summary lacks \"Missed: 2\""
echo "ok: summary"

# stdin, filter options, path and literal regex
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json - 'sshd[mode=aggressive]' <"$tmp/auth.log" >"$tmp/json" || fail "stdin + options failed"
[ "$(grep -c host "$tmp/json")" = 4 ] || fail "aggressive mode: want 4 matches"
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json "$tmp/auth.log" "$SRCDIR/conf/filter.d/sshd.conf" >"$tmp/json" || fail "filter by path failed"
[ "$(grep -c host "$tmp/json")" = 4 ] || fail "by path: want 4 matches"
"$NFTJAIL" regex --json "$tmp/auth.log" 'Invalid user \S+ from <HOST> port \d+$' >"$tmp/json" || fail "literal regex failed"
python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(0 if [(x["line"],x["host"]) for x in l]==[(3,"2001:db8::10")] else 1)' "$tmp/json" ||
	{ cat "$tmp/json"; fail "literal regex: want line 3 only"; }
echo "ok: stdin, options, path, literal"

# several filters in one pass: every line through each, a summary each, "filter" in the JSON
printf 'Nov 24 13:05:07 pve pvedaemon[1206]: authentication failure; rhost=::ffff:198.51.100.7 user=root@pam msg=Authentication failure\n' >>"$tmp/auth.log"
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json "$tmp/auth.log" sshd proxmox recidive >"$tmp/json" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "several filters failed"; }
python3 - "$tmp/json" <<'PY' || fail "several filters: JSON differs"
import json, sys
got = [(g["line"], g["host"], g["filter"]) for g in map(json.loads, open(sys.argv[1]))]
want = [(1, "192.0.2.10", "sshd"), (3, "2001:db8::10", "sshd"), (4, "192.0.2.11", "sshd"), (6, "192.0.2.12", "sshd"),
        (7, "198.51.100.7", "proxmox")]
if got != want:
    print("got", got, "want", want); sys.exit(1)
PY
[ "$(grep -c '^Filter: ' "$tmp/err")" = 3 ] && [ "$(grep -c '^Lines: 7 lines' "$tmp/err")" = 3 ] ||
	{ cat "$tmp/err"; fail "several filters: want three summaries of 7 lines"; }
awk '/^Filter: proxmox/{p=1} p&&/^Failregex:/{print; exit}' "$tmp/err" | grep -q "Failregex: 1 total" ||
	{ cat "$tmp/err"; fail "several filters: proxmox should have 1"; }
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" "$tmp/auth.log" sshd no-such-filter >/dev/null 2>&1
[ $? = 1 ] || fail "several filters, one unknown: want exit 1"
echo "ok: several filters"

# a long line, cut, between two short ones, with no newline at the end
{
	printf 'Nov 24 13:05:01 h sshd[1]: Failed password for root from 192.0.2.40 port 1 ssh2\n'
	printf 'Nov 24 13:05:01 h sshd[1]: Failed password for root from 192.0.2.41 port 1 ssh2'
	head -c 300000 /dev/zero | tr '\0' ' '
	printf '\nNov 24 13:05:01 h sshd[1]: Failed password for root from 192.0.2.42 port 1 ssh2'
} >"$tmp/cut.log"
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json "$tmp/cut.log" sshd >"$tmp/json" 2>"$tmp/err" || { cat "$tmp/err"; fail "cut line: failed"; }
python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(0 if [(x["line"],x["host"]) for x in l]==[(1,"192.0.2.40"),(3,"192.0.2.42")] else 1)' "$tmp/json" ||
	{ cat "$tmp/json"; fail "cut line: want lines 1 and 3"; }
grep -q "^Lines: 3 lines, 3 with a date, 1 cut" "$tmp/err" || { cat "$tmp/err"; fail "cut line: want 3 lines, 1 cut"; }
echo "ok: cut line, last line without a newline"

# hostile input: NUL, invalid UTF-8, a 1 MB line, empty lines
{
	printf 'Nov 24 13:05:01 h sshd[1]: Failed password for root from 192.0.2.30 port 1 ssh2\x00junk\n'
	printf '\xff\xfe\xfd\n\n'
	head -c 1000000 /dev/zero | tr '\0' 'A'
	printf '\nNov 24 13:05:01 h sshd[1]: Failed password for root from 192.0.2.31 port 1 ssh2\n'
} >"$tmp/hostile.log"
"$NFTJAIL" regex --config-dir "$SRCDIR/conf" --json "$tmp/hostile.log" sshd >"$tmp/json" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] || { cat "$tmp/err"; fail "hostile input: exit $rc"; }
grep -q '"192.0.2.31"' "$tmp/json" || fail "the line after the hostile ones was not matched"
echo "ok: hostile input"

# a bad filter: exit 1 with file:line and the PCRE2 offset
printf '[Definition]\nfailregex = ^fine <HOST>$\n            ^broken( <HOST>$\n' >"$tmp/bad.conf"
"$NFTJAIL" regex "$tmp/auth.log" "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] || fail "bad filter: exit $rc, want 1"
grep -q "bad.conf:3" "$tmp/err" || { cat "$tmp/err"; fail "bad filter: no bad.conf:3"; }
grep -qi "offset" "$tmp/err" || { cat "$tmp/err"; fail "bad filter: no offset"; }
echo "ok: bad filter"

# datepattern = {^LN-BEG} alone (as fail2ban's stock web and PAM filters set it): the date at the
# line start is found (nginx's error log writes 2026/11/24 13:05:01) and cut out before matching; the blank
# after it stays, as in fail2ban, whose filters allow for it (nginx-http-auth: "^\s*\[error\]")
printf '[Definition]\nfailregex = ^ \\[error\\] \\d+#\\d+: \\*\\d+ user "[^"]*": password mismatch, client: <HOST>,\ndatepattern = {^LN-BEG}\n' >"$tmp/web.conf"
printf '%s\n' '2026/11/24 13:05:01 [error] 869#869: *1 user "admin": password mismatch, client: 203.0.113.5, server: x' \
	'2026/11/24 13:05:02 [error] 869#869: *2 user "bob": password mismatch, client: 198.51.100.7, server: x' >"$tmp/web.log"
"$NFTJAIL" regex --json "$tmp/web.log" "$tmp/web.conf" >"$tmp/json" 2>"$tmp/err" || { cat "$tmp/err"; fail "{^LN-BEG} filter failed"; }
grep -q '"203.0.113.5"' "$tmp/json" && grep -q '"198.51.100.7"' "$tmp/json" ||
	{ cat "$tmp/json"; fail "datepattern {^LN-BEG}: the dated nginx lines were not matched"; }
echo "ok: datepattern {^LN-BEG}"

# usage errors: exit 2
"$NFTJAIL" regex >/dev/null 2>&1
[ $? = 2 ] || fail "regex without arguments: want exit 2"
"$NFTJAIL" no-such-command >/dev/null 2>&1
[ $? = 2 ] || fail "unknown command: want exit 2"
echo "all ok"
