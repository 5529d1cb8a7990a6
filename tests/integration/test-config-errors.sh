#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad configuration: nftjaild --test-config (and the daemon) refuse to start with exit code 1 and
# an error naming the file, the line and the value; never a crash, never a silent default. An
# option nothing reads is a warning. Needs no root: nothing here touches the kernel.
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fresh CONFDIR: a copy of the shipped configuration
fresh() {
	rm -rf "$tmp/conf"
	cp -a "$SRCDIR/conf" "$tmp/conf"
	mkdir -p "$tmp/conf/jail.d" "$tmp/conf/filter.d"
}
# error_lines FILE: the error lines of a test-config run, in the daemon's form. The two differ by
# design in one place: the CLI writes a diagnostic compiler-style ("FILE:LINE: error: MESSAGE"),
# the daemon's log puts the level first ("error: FILE:LINE: MESSAGE"); and only the daemon ends
# with the verdict "error: DIR: the configuration has errors".
error_lines() {
	sed -E 's/^(.+): error: /error: \1: /' "$1" | grep '^error: ' | grep -v ': the configuration has errors$'
}
# check_bad WHAT REGEX...: nftjaild --test-config and nftjail test-config both exit 1, their stderr
# matches every REGEX, and both print the same error lines (the same checks, the same messages)
check_bad() {
	local what=$1 rc cmd who
	shift
	for who in daemon cli; do
		if [ $who = daemon ]; then cmd="$NFTJAILD --test-config"; else cmd="$NFTJAIL test-config"; fi
		$cmd --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ "$rc" = 1 ] || { cat "$tmp/err"; fail "$what: $cmd: exit code $rc, want 1"; }
		for re in "$@"; do
			grep -Eq -- "$re" "$tmp/err" || { cat "$tmp/err"; fail "$what: $cmd: stderr lacks /$re/"; }
		done
		error_lines "$tmp/err" >"$tmp/err.$who"
	done
	[ -s "$tmp/err.daemon" ] || fail "$what: no error line"
	diff -u "$tmp/err.daemon" "$tmp/err.cli" >&2 || fail "$what: nftjaild --test-config and nftjail test-config disagree"
	echo "ok: $what"
}

# 0. the shipped configuration is valid and names its jail
fresh
"$NFTJAILD" --test-config --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "shipped config rejected"; }
grep -q sshd "$tmp/out" || fail "--test-config does not show the sshd jail"

# 1. a bad value for a known option
fresh
printf '[sshd]\nenabled = true\n\nmaxretry = abc\n' >"$tmp/conf/jail.local"
check_bad "bad maxretry" "jail\.local:4:" "maxretry" "abc"

fresh
printf '[sshd]\nbantime = 10 parsecs\n' >"$tmp/conf/jail.local"
check_bad "bad bantime" "jail\.local:2:" "bantime" "parsecs"

fresh
printf '[sshd]\nignoreip = 127.0.0.1/8 bastion.example.org\n' >"$tmp/conf/jail.local"
check_bad "hostname in ignoreip" "jail\.local:2:" "bastion\.example\.org"

# 2. a bad regex: file, line and PCRE2's offset
fresh
printf '[Definition]\nfailregex = ^ok from <HOST>$\n            ^broken( from <HOST>$\n' >"$tmp/conf/filter.d/broken.conf"
printf '[broken]\nenabled = true\nfilter = broken\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=x.service _UID=0\n' >"$tmp/conf/jail.d/broken.local"
check_bad "bad regex" "broken\.conf:3" "offset"

# 3. a missing include
fresh
printf '[INCLUDES]\nbefore = does-not-exist.conf\n[Definition]\nfailregex = ^x <HOST>$\n' >"$tmp/conf/filter.d/inc.conf"
printf '[inc]\nenabled = true\nfilter = inc\n' >"$tmp/conf/jail.d/inc.local"
check_bad "missing include" "inc\.conf:2" "does-not-exist\.conf"

# 4. an interpolation loop
fresh
printf '[DEFAULT]\na = %%(b)s\nb = %%(a)s\n[sshd]\nenabled = true\nbantime = %%(a)s\n' >"$tmp/conf/jail.local"
check_bad "interpolation loop" "jail\.local:[0-9]+" "loop|recursion|depth"

# 5. an unknown filter and an unknown backend
fresh
printf '[sshd]\nenabled = true\nfilter = no-such-filter\n' >"$tmp/conf/jail.local"
check_bad "unknown filter" "jail\.local:3" "no-such-filter"

fresh
printf '[sshd]\nenabled = true\nbackend = gamin\n' >"$tmp/conf/jail.local"
check_bad "unsupported backend" "jail\.local:3" "gamin"

fresh
printf '[sshd]\nenabled = true\njournalmatch = _SYSTEMD_UNIT=ssh.service + lowercase=bad\n' >"$tmp/conf/jail.local"
check_bad "bad journalmatch" "jail\.local:3: .*journalmatch" "lowercase=bad"
fresh
printf '[Definition]\nfailregex = ^x <HOST>$\n\njournalmatch = _COMM=app +\n' >"$tmp/conf/filter.d/jm.conf"
printf '[jm]\nenabled = true\nfilter = jm\nbackend = systemd\n' >"$tmp/conf/jail.d/jm.local"
check_bad "bad journalmatch of a filter" "jm\.conf:4: .*journalmatch"

# the kernel refuses an element timeout of 18446744073709 ms or more: so does the configuration
fresh
printf '[sshd]\nenabled = true\nbantime = 600y\n' >"$tmp/conf/jail.local"
check_bad "bantime past the kernel's limit" \
	"jail\.local:3: .*'bantime': '600y' is too long: at most 18446744073 seconds \(about 584 years\), as nf_tables refuses a timeout of 18446744073709 ms or more"
fresh
printf '[sshd]\nenabled = true\nbantime.increment = true\nbantime.maxtime = 18446744074\nfindtime = 18446744073709552\n' >"$tmp/conf/jail.local"
check_bad "bantime.maxtime and findtime past the kernel's limit" "jail\.local:4: .*'bantime\.maxtime': '18446744074' is too long" \
	"jail\.local:5: .*'findtime': '18446744073709552' is too long"
fresh
printf '[Definition]\nnft_file = %s\ndbpurgeage = 99999999999999999999\n' "$SRCDIR/nft/nftjail.nft" >"$tmp/conf/nftjail.local"
check_bad "dbpurgeage past the limit" "nftjail\.local:3: .*'dbpurgeage': '99999999999999999999' is too long"

# a journal match that any local user can satisfy: fail2ban's own sshd journalmatch, copied over
fresh
printf '[Definition]\nfailregex = ^Failed password for .* from <HOST>\njournalmatch = _SYSTEMD_UNIT=sshd.service + _COMM=sshd\n' \
	>"$tmp/conf/filter.d/f2b-sshd.conf"
printf '[f2b]\nenabled = true\nfilter = f2b-sshd\nbackend = systemd\n' >"$tmp/conf/jail.d/f2b.local"
check_bad "forgeable journalmatch" \
	"f2b-sshd\.conf:3: .*jail 'f2b': 'journalmatch': '_SYSTEMD_UNIT=sshd\.service' is forgeable by any local user: it has no _UID= term" \
	"f2b-sshd\.conf:3: .*jail 'f2b': 'journalmatch': '_COMM=sshd' is forgeable by any local user: it has no _UID= term, and _COMM is the process name" \
	"'_COMM=sshd _UID=0' for a root daemon" "journalmatch_forgeable = true"
# accepted knowingly: a warning, the same from both
printf 'journalmatch_forgeable = true\n' >>"$tmp/conf/jail.d/f2b.local"
for cmd in "$NFTJAILD --test-config" "$NFTJAIL test-config"; do
	$cmd --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "journalmatch_forgeable = true: $cmd refused it"; }
	[ "$(grep -c "warning.*'journalmatch': '_[A-Z_]*=sshd[.a-z]*' is forgeable by any local user, accepted as journalmatch_forgeable = true" "$tmp/err")" = 2 ] ||
		{ cat "$tmp/err"; fail "journalmatch_forgeable = true: $cmd does not warn of both alternatives"; }
done
echo "ok: journalmatch_forgeable = true"

# a limit of the daemon is a limit of the configuration: named where the value is written
fresh
printf '[sshd]\nenabled = true\nmaxretry = 300\n' >"$tmp/conf/jail.local"
check_bad "maxretry above 255" "jail\.local:3: .*'maxretry': '300'"
fresh
name=$(printf 'j%.0s' $(seq 128))
printf '[%s]\nenabled = true\nfilter = sshd\n' "$name" >"$tmp/conf/jail.d/long.local"
check_bad "jail name longer than an nft comment" "long\.local:1: .*the name is longer than 127 bytes"

# a datepattern that does not compile (file jail), what multi-line filters cannot have: refused by name
fresh
: >"$tmp/app.log"
printf '[Definition]\nfailregex = ^x <HOST>$\ndatepattern = ^%%%%Y-%%%%m-%%%%d [%%%%H\n' >"$tmp/conf/filter.d/dp.conf"
printf '[dp]\nenabled = true\nfilter = dp\nlogpath = %s\n' "$tmp/app.log" >"$tmp/conf/jail.d/dp.local"
check_bad "bad datepattern" "dp\.conf:3: jail 'dp'" "datepattern '\^%Y-%m-%d \[%H': line 1 .*: a \[ without its \]"
fresh
printf '[Definition]\nprefregex = ^<F-CONTENT>.+</F-CONTENT>$\nfailregex = ^x <HOST>$\nmaxlines = 2\n' >"$tmp/conf/filter.d/ml.conf"
printf '[ml]\nenabled = true\nfilter = ml\nlogpath = %s\n' "$tmp/app.log" >"$tmp/conf/jail.d/ml.local"
check_bad "prefregex in a multi-line filter" "jail 'ml'" "a prefregex with maxlines = 2 is not supported"
fresh
: >"$tmp/app.log"
printf '[Definition]\nfailregex = ^x <HOST><SKIPLINES>y$\n' >"$tmp/conf/filter.d/sk.conf"
printf '[sk]\nenabled = true\nfilter = sk\nlogpath = %s\n' "$tmp/app.log" >"$tmp/conf/jail.d/sk.local"
check_bad "<SKIPLINES> without maxlines" "jail 'sk'" "<SKIPLINES> needs maxlines > 1"

fresh
printf '[Definition]\nfailregex = ^x <HOST>$\n' >"$tmp/conf/filter.d/tz.conf"
printf '[tz]\nenabled = true\nfilter = tz\nlogpath = %s\nlogtimezone = Mars/Olympus\n' "$tmp/app.log" >"$tmp/conf/jail.d/tz.local"
check_bad "bad logtimezone" "tz\.local:5: jail 'tz'" "logtimezone 'Mars/Olympus' is not a zone"

# webhooks: https only (plain http to loopback only), no user:password in the URL (never repeated
# in the message), a [webhook NAME] that exists
fresh
printf '[sshd]\nenabled = true\naction = %%(action_)s\n         webhook[url="http://192.0.2.10/hook", format=json]\n' >"$tmp/conf/jail.local"
check_bad "webhook over plain http to a remote host" \
	"jail\.local:4: .*jail 'sshd': 'action': webhook: 'url': 'http://192\.0\.2\.10/\.\.\.' is plain http:// to a host other than localhost"
fresh
printf '[sshd]\nenabled = true\naction = webhook[url="https://alice:hunter2@hooks.example.org/x"]\n' >"$tmp/conf/jail.local"
check_bad "webhook URL with userinfo" "jail\.local:3: .*'url': 'https://\.\.\.@hooks\.example\.org/\.\.\.' has a user name or password"
grep -q hunter2 "$tmp/err" && fail "the webhook password is in the error message"
fresh
printf '[webhook ops]\nurl = https://hooks.example.org/x\nformat = teams\n' >>"$tmp/conf/nftjail.local"
printf '[sshd]\nenabled = true\naction = webhook[name=ops]\n         webhook[name=nosuch]\n' >"$tmp/conf/jail.local"
check_bad "webhook section errors" "nftjail\.local:[0-9]+: .*\[webhook ops\]: 'format': 'teams' is not json, ntfy or slack" \
	"jail\.local:4: .*no \[webhook nosuch\] section"

# 6. the daemon itself refuses to start on the same errors (exit 1, before touching anything)
fresh
printf '[sshd]\nmaxretry = 0\n' >"$tmp/conf/jail.local"
"$NFTJAILD" --foreground --config-dir "$tmp/conf" --state-dir "$tmp/state" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] || fail "daemon started on a bad config (exit $rc)"
grep -q "jail\.local:2:" "$tmp/err" || { cat "$tmp/err"; fail "daemon error lacks jail.local:2"; }
[ -e "$tmp/state" ] && fail "daemon created its state dir before checking the configuration"
echo "ok: daemon refuses to start"

# 7. an option nothing reads: a warning with file and line, not an error
fresh
printf '[sshd]\nenabled = true\nfrobnicate = yes\n' >"$tmp/conf/jail.local"
"$NFTJAILD" --test-config --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "unknown option is an error"; }
grep -Eq "jail\.local:3:.*frobnicate" "$tmp/err" || { cat "$tmp/err"; fail "no warning for the unknown option"; }
echo "ok: unknown option warns"

# 7b. a file jail whose logpath matches no file (the guide's /var/log/daemon.log, which Debian 12
# never writes): a warning from both, with the jail, the path, logpath's file:line and, as the
# jail has a journalmatch, the journal backend; a logpath that exists gives none
fresh
missing="$tmp/no-such-dir/daemon.log"
printf '[sshd]\nenabled = true\nbackend = auto\nlogpath = %s\n' "$missing" >"$tmp/conf/jail.local"
for cmd in "$NFTJAILD --test-config" "$NFTJAIL test-config"; do
	$cmd --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "missing logpath: $cmd failed"; }
	grep -q "jail\.local:4: .*jail 'sshd': logpath '$missing' matches no file now; the jail waits for one to appear.*backend = systemd" "$tmp/err" ||
		{ cat "$tmp/err"; fail "missing logpath: $cmd does not warn with jail.local:4"; }
done
: >"$tmp/daemon.log"
printf '[sshd]\nenabled = true\nbackend = auto\nlogpath = %s %s\n' "$missing" "$tmp/daemon.lo?" >"$tmp/conf/jail.local"
"$NFTJAIL" test-config --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err" || fail "existing logpath: test-config failed"
grep -q "matches no file" "$tmp/err" && { cat "$tmp/err"; fail "a logpath with a matching glob warned"; }
echo "ok: missing logpath warns"

# 8. hostile bytes in a config file: an error, never a crash
fresh
printf '[sshd]\nenabled = true\nmaxretry = 3\x00\xff\xfe\n' >"$tmp/conf/jail.local"
"$NFTJAILD" --test-config --config-dir "$tmp/conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "hostile bytes: exit code $rc (crash?)"
grep -q "jail\.local:3" "$tmp/err" || { cat "$tmp/err"; fail "hostile bytes: no diagnostic naming jail.local:3"; }
echo "ok: hostile bytes"
echo "all ok"
