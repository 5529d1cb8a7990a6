#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control socket and the nftjail CLI against the real daemon: every command, --json checked
# with exact values, permissions (root, socket_group, others), reload (broken, adding and removing
# a jail, --unban), manual bans visible in the kernel with the jail's comment and --time,
# unban --all including an element added by hand, exit codes.
# shellcheck disable=SC1091,SC2015,SC2034
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
# single-address IPv6 bans: the expectations below name addresses, not /64s
ipv6_prefix = 128
ignoreip = 127.0.0.1/8 ::1 198.51.100.0/24
CONF

J() { "$RIG_PY" -c "import json,sys; d=json.load(sys.stdin); $1"; }

# 0. not running: exit 3, one line on stderr
rc=0
out=$(rig_ctl ping 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "ping without a daemon: exit $rc, want 3 ($out)"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "want one line on stderr: $out"
rc=0
"$NFTJAIL" --socket "$RIG_TMP/nope/x.sock" status >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "status on a missing socket: exit $rc, want 3"

# 1. start; the socket is 0600 root
rig_start_daemon
[ "$(stat -c '%a %u %g' "$RIG_SOCK")" = "600 0 0" ] || fail "socket mode: $(stat -c '%a %u %g' "$RIG_SOCK")"
[ "$(rig_ctl ping)" = pong ] || fail "ping"
rig_ctl ping --json | J 'assert d == {"version": 1, "ok": True, "pong": True}, d'
# --socket after the verb, and --json before it
"$NFTJAIL" ping --socket "$RIG_SOCK" >/dev/null || fail "--socket after the verb"
"$NFTJAIL" --json --socket="$RIG_SOCK" ping | J 'assert d["pong"] is True'

# 2. status
rig_ctl status --json | J '
assert d["ok"] is True and d["version"] == 1
assert d["daemon_version"] and d["pid"] > 0 and d["uptime_sec"] >= 0
assert [j["name"] for j in d["jails"]] == ["sshd"], d["jails"]
j = d["jails"][0]
assert j["lines"] == 0 and j["failures_total"] == 0 and j["failures_current"] == 0 and j["bans_total"] == 0, j
assert d["bans_total"] == 0
s = j["sources"]
assert len(s) == 1 and s[0]["type"] == "journal" and "SYSLOG_IDENTIFIER=sshd _UID=0" in s[0]["match"], s
'
rig_ctl status | grep -q '^Jail list: sshd$' || fail "human status"

# 3. a journal-driven ban shows in status JAIL
for i in 1 2 3; do rig_log ssh.service sshd "Failed password for root from 192.0.2.66 port 40022 ssh2"; done
rig_wait_until 10 rig_nft_has '^192.0.2.66 tcp 22 ' v4_port
rig_log ssh.service sshd "Failed password for root from 192.0.2.70 port 40022 ssh2"
rig_wait_until 10 bash -c "'$NFTJAIL' --socket '$RIG_SOCK' status sshd --json | grep -q '\"failures_current\": 1'"
rig_ctl status sshd --json | J '
j = d["jail"]
assert j["name"] == "sshd"
assert j["failures_current"] == 1, j
assert j["failures_total"] == 4, j
assert j["bans_current"] == 1 and j["bans_total"] == 1, j
assert [b["addr"] for b in j["banned"]] == ["192.0.2.66"], j["banned"]
assert 3590000 < j["banned"][0]["expires_ms"] <= 3600000, j["banned"]
assert j["ports"] == [22] and j["protocol"] == "tcp" and j["maxretry"] == 3 and j["bantime_sec"] == 3600, j
'
rig_ctl status sshd | grep -q '192.0.2.66 (59m' || fail "human status sshd: $(rig_ctl status sshd)"
rc=0
out=$(rig_ctl status nosuchjail 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "nftjail status: no jail 'nosuchjail'" ] || fail "status nosuchjail: $rc $out"

# 4. manual ban with --time: the same path (comment, kernel timeout)
rig_ctl ban sshd 203.0.113.5 --time 2h --json | J '
assert d == {"version": 1, "ok": True, "jail": "sshd", "addr": "203.0.113.5", "bantime_sec": 7200}, d'
line=$(rig_nft_elements v4_port | grep '^203.0.113.5 ') || fail "manual ban not in the kernel"
[ "$(echo "$line" | awk '{print $2, $3, $4, $6}')" = "tcp 22 7200 sshd" ] || fail "manual ban element: $line"
rig_ctl ban sshd 2001:db8::5 | grep -qx 'sshd: banned 2001:db8::5 for 1h' || fail "ban v6 human output"
rig_nft_has '^2001:db8::5 tcp 22 3600 ' v6_port || fail "v6 manual ban: $(rig_nft_elements v6_port)"
# refused: ignoreip, --report without a reporter, unknown jail; usage errors exit 2
rc=0; out=$(rig_ctl ban sshd 198.51.100.9 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"never banned (ignoreip)"* ]] || fail "ban ignoreip: $rc $out"
rc=0; out=$(rig_ctl ban --report sshd 203.0.113.6 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == "nftjail ban: sshd: reporting not available"* ]] || fail "ban --report: $rc $out"
rig_nft_has '^v4_port 203.0.113.6 ' && fail "--report banned anyway"
rc=0; rig_ctl ban nojail 203.0.113.6 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "ban nojail: exit $rc"
for bad in "ban sshd not-an-ip" "ban sshd" "ban sshd 203.0.113.6 --time xyz" "unban" "unban --all a b" \
	"status a b" "set sshd frobnicate 203.0.113.6" "ban --bogus sshd 203.0.113.6" "nosuchverb"; do
	rc=0
	# shellcheck disable=SC2086
	rig_ctl $bad >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "'$bad': exit $rc, want 2"
done
for v in status banned ban unban set reload ping; do
	rig_ctl "$v" --help | grep -q "^Usage: nftjail $v" || fail "$v --help"
done

# 5. banned: from the daemon's record of its bans; --kernel: from the kernel, including an element
#    added by hand (which the daemon's record has not seen)
rig_nft add element inet nftjail v4_port '{ 203.0.113.9 . tcp . 22 timeout 1h comment "sshd" }'
rig_ctl banned 203.0.113.9 --json | J 'assert (d["total"], d["bans"], d["from"]) == (0, [], "daemon"), d'
rig_ctl banned 203.0.113.5 --json | J '
assert d["total"] == 1 and d["from"] == "daemon", d
b = d["bans"][0]
assert (b["addr"], b["jail"], b["set"], b["proto"], b["port"], b["timeout_ms"], b["permanent"]) == \
    ("203.0.113.5", "sshd", "v4_port", "tcp", 22, 7200000, False), b
assert 7190000 < b["expires_ms"] <= 7200000, b
'
rig_ctl banned --json | J '
got = sorted(b["addr"] for b in d["bans"])
assert got == ["192.0.2.66", "2001:db8::5", "203.0.113.5"], got
sets = {b["addr"]: b["set"] for b in d["bans"]}
assert sets["2001:db8::5"] in ("v6_port_64", "v6_port_128") and sets["192.0.2.66"] == "v4_port", sets
'
rig_ctl status sshd --kernel --json | J '
assert d["jail"]["bans_from"] == "kernel" and d["jail"]["bans_current"] == 4, d'
rig_ctl status sshd --json | J '
assert d["jail"]["bans_from"] == "daemon" and d["jail"]["bans_current"] == 3, d'
rig_ctl banned --kernel 203.0.113.9 --json | J '
assert d["total"] == 1 and d["truncated"] is False and d["from"] == "kernel", d
b = d["bans"][0]
assert (b["addr"], b["jail"], b["set"], b["proto"], b["port"], b["timeout_ms"], b["permanent"]) == \
    ("203.0.113.9", "sshd", "v4_port", "tcp", 22, 3600000, False), b
assert 0 < b["expires_ms"] <= 3600000
'
rig_ctl banned --kernel --json | J '
got = sorted(b["addr"] for b in d["bans"])
assert got == ["192.0.2.66", "2001:db8::5", "203.0.113.5", "203.0.113.9"], got
sets = {b["addr"]: b["set"] for b in d["bans"]}
assert sets["2001:db8::5"] in ("v6_port_64", "v6_port_128") and sets["192.0.2.66"] == "v4_port", sets
'
[ "$(rig_ctl banned 192.0.2.99)" = "not banned" ] || fail "banned 192.0.2.99"
rig_ctl banned | grep -Eq '^203\.0\.113\.5 +sshd +tcp/22 +1h59m' || fail "human banned: $(rig_ctl banned)"

# 6. set JAIL banip/unbanip (fail2ban spellings)
rig_ctl set sshd banip 203.0.113.20 203.0.113.21 >/dev/null
rig_nft_has '^203.0.113.20 tcp 22 3600 ' v4_port && rig_nft_has '^203.0.113.21 tcp 22 3600 ' v4_port ||
	fail "set banip: $(rig_nft_elements v4_port)"
rig_ctl set sshd unbanip 203.0.113.20 >/dev/null
rig_nft_has '^v4_port 203.0.113.20 ' && fail "set unbanip left the element"

# 7. unban ADDR, then unban --all JAIL empties the sets, the hand-made element too
rig_ctl unban 203.0.113.21 --json | J 'assert d == {"version": 1, "ok": True, "unbanned": 1}, d'
rig_nft_has '^v4_port 203.0.113.21 ' && fail "unban left the element"
[ "$(rig_ctl unban 203.0.113.21)" = "203.0.113.21 was not banned" ] || fail "unban twice"
# --fleet where no fleet runs: an error, and nothing unbanned
rig_ctl ban sshd 203.0.113.22 >/dev/null
rc=0
out=$(rig_ctl unban --fleet 203.0.113.22 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "nftjail unban: --fleet: this node is not in a fleet ([fleet] is not enabled, or not running); nothing unbanned" ] ||
	fail "unban --fleet without a fleet: $rc $out"
rig_nft_has '^203.0.113.22 tcp 22 ' v4_port || fail "unban --fleet without a fleet unbanned"
rig_ctl unban 203.0.113.22 >/dev/null
rig_ctl unban --all sshd --json | J 'assert d["unbanned"] == 4, d'
[ -z "$(rig_nft_elements)" ] || fail "unban --all left: $(rig_nft_elements)"
rig_ctl status sshd --json | J 'assert d["jail"]["bans_current"] == 0 and d["jail"]["banned"] == [], d'
# --all without a jail: every element, whatever its comment
rig_nft add element inet nftjail v4 '{ 203.0.113.30 timeout 1h comment "manual" }'
rig_nft add element inet nftjail v6 '{ 2001:db8::30 timeout 1h comment "manual" }'
rig_ctl banned --kernel 2001:db8::30 --json | J '
assert [(b["addr"], b["set"], b["jail"], b["port"]) for b in d["bans"]] == [("2001:db8::30", "v6", "manual", None)], d'
rig_ctl ban sshd 203.0.113.31 >/dev/null
out=$(rig_ctl unban --all)
[ "$out" = "unbanned everything (3 elements)" ] || fail "unban --all: $out"
[ -z "$(rig_nft_elements)" ] || fail "unban --all left: $(rig_nft_elements)"

# bash completion: jail names from the running daemon
# shellcheck disable=SC1091
. "$SRCDIR/completion/nftjail.bash"
COMP_WORDS=("$NFTJAIL" --socket "$RIG_SOCK" status "")
COMP_CWORD=4
_nftjail
[ "${COMPREPLY[*]}" = sshd ] || fail "completion of jail names: ${COMPREPLY[*]}"
COMP_WORDS=("$NFTJAIL" ba)
COMP_CWORD=1
_nftjail
[ "${COMPREPLY[*]}" = "banned ban" ] || fail "completion of verbs: ${COMPREPLY[*]}"

# 8. reload: a broken configuration is refused whole and the errors come back with file:line
cp "$RIG_CONF/jail.d/test.local" "$RIG_TMP/test.local.good"
printf '[sshd]\nenabled = true\nmaxretry = lots\n' >"$RIG_CONF/jail.d/zz-broken.local"
rc=0
out=$(rig_ctl reload 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "reload of a broken configuration: exit $rc"
echo "$out" | grep -q "^$RIG_CONF/jail.d/zz-broken.local:3: error: .*maxretry" || fail "no file:line error: $out"
echo "$out" | tail -n 1 | grep -qx "nftjail reload: the configuration has errors; the running one is kept" ||
	fail "last line: $out"
rig_ctl reload --json 2>/dev/null | J '
assert d["ok"] is False and any("zz-broken.local:3:" in l for l in d["diagnostics"]), d' || true
rig_daemon_alive || fail "daemon died on a broken reload"
rig_ctl status --json | J 'assert [j["name"] for j in d["jails"]] == ["sshd"]'
# a regex that does not compile: found when the jails are built, sent back with file:line too
printf '[Definition]\nfailregex = ^Failed (unclosed from <HOST>$\n' >"$RIG_CONF/filter.d/badre.conf"
printf '[badre]\nenabled = true\nfilter = badre\njournalmatch = _COMM=badre _UID=0\n' >"$RIG_CONF/jail.d/zz-broken.local"
rc=0
out=$(rig_ctl reload 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "^$RIG_CONF/filter.d/badre.conf:2: jail 'badre': bad regex at offset" ||
	fail "bad regex on reload: $rc $out"
rig_ctl status --json | J 'assert [j["name"] for j in d["jails"]] == ["sshd"]'
# an unknown socket_group is a configuration error with its file and line
rm "$RIG_CONF/jail.d/zz-broken.local"
printf '[Definition]\nnft_file = %s\nsocket_group = no-such-group-nftjail\n' "$RIG_NFT_FILE" >"$RIG_CONF/nftjail.local"
rc=0
out=$(rig_ctl reload 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "nftjail.local:3: error: 'socket_group': no such group 'no-such-group-nftjail'" ||
	fail "unknown socket_group: $rc $out"

# 9. reload adding a jail, then removing it with --unban
printf '[Definition]\nnft_file = %s\n' "$RIG_NFT_FILE" >"$RIG_CONF/nftjail.local"
cat >"$RIG_CONF/jail.d/extra.local" <<'CONF'
[sshd-extra]
enabled = true
filter = sshd
port = 2222
maxretry = 5
bantime = 10m
CONF
[ "$(rig_ctl reload)" = "configuration reloaded: 2 jail(s)" ] || fail "reload adding a jail"
rig_ctl status --json | J 'assert [j["name"] for j in d["jails"]] == ["sshd", "sshd-extra"], d["jails"]'
rig_ctl ban sshd-extra 203.0.113.40 >/dev/null
rig_nft_has '^203.0.113.40 tcp 2222 600 [0-9]+ sshd-extra$' v4_port || fail "ban in the new jail: $(rig_nft_elements v4_port)"
rig_ctl ban sshd 203.0.113.41 >/dev/null
rm "$RIG_CONF/jail.d/extra.local"
rig_ctl reload nosuchjail >/dev/null 2>&1 && fail "reload nosuchjail succeeded"
rig_ctl reload --unban sshd --json | J 'assert d["jails"] == 1 and d["unbanned"] == 1, d'
rig_nft_has '^v4_port 203.0.113.40 ' && fail "reload --unban left the removed jail's ban"
rig_nft_has '^203.0.113.41 tcp 22 ' v4_port || fail "reload --unban removed another jail's ban"

# 10. permissions: 0600 root only -> a non-root user cannot connect
nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups -- "$NFTJAIL" --socket "$RIG_SOCK" "$@"; }
rc=0
out=$(nobody status 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"Permission denied"* ]] || fail "non-root on a 0600 socket: $rc $out"
# even when it gets past the mode (CAP_DAC_OVERRIDE), the daemon refuses by SO_PEERCRED
capped() { setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps +dac_override --ambient-caps +dac_override \
	-- "$NFTJAIL" --socket "$RIG_SOCK" "$@"; }
rc=0
out=$(capped ping 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == "nftjail ping: permission denied: only root may use the control socket"* ]] ||
	fail "daemon-side refusal: $rc $out"
# socket_group = nogroup: 0660 root:nogroup; members may run status, banned, ping, not ban
grp=$(getent group 65534 | cut -d: -f1)
printf '[Definition]\nnft_file = %s\nsocket_group = %s\n' "$RIG_NFT_FILE" "$grp" >"$RIG_CONF/nftjail.local"
rig_ctl reload >/dev/null
[ "$(stat -c '%a %u %g' "$RIG_SOCK")" = "660 0 65534" ] || fail "socket mode with socket_group: $(stat -c '%a %u %g' "$RIG_SOCK")"
[ "$(nobody ping)" = pong ] || fail "group member ping"
nobody status --json | J 'assert d["ok"] is True'
nobody banned --json | J 'assert d["total"] == 1, d'
# the full listing is cached for a second while the record does not change: a ban or an unban
# changes it, so the next listing (within that second) has it
rig_ctl ban sshd 203.0.113.44 >/dev/null || fail "ban of 203.0.113.44"
nobody banned --json | J 'assert d["total"] == 2 and "203.0.113.44" in [b["addr"] for b in d["bans"]], d'
rig_ctl unban 203.0.113.44 >/dev/null || fail "unban of 203.0.113.44"
nobody banned --json | J 'assert d["total"] == 1 and "203.0.113.44" not in [b["addr"] for b in d["bans"]], d'
# the kernel's listing is root's
rc=0
out=$(nobody banned --kernel 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "nftjail banned: permission denied: 'banned' with \"kernel\" (--kernel) needs root: it lists the kernel's sets whole; without it the daemon answers from its own record of the bans" ] ||
	fail "group member banned --kernel: $rc $out"
rc=0; nobody status sshd --kernel >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "group member status --kernel: exit $rc"
# membership through a supplementary group, among 300 (more than fit the first SO_PEERGROUPS read)
many="$(seq -s, 1000 1299),65534"
[ "$(setpriv --reuid 65533 --regid 65533 --groups "$many" -- "$NFTJAIL" --socket "$RIG_SOCK" ping)" = pong ] ||
	fail "member through a supplementary group"
rc=0
out=$(nobody ban sshd 203.0.113.50 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "nftjail ban: permission denied: 'ban' needs root (group '$grp' may run status, banned and ping)" ] ||
	fail "group member ban: $rc $out"
rc=0; nobody unban --all >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "group member unban --all: exit $rc"
rc=0; nobody reload >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "group member reload: exit $rc"
rig_nft_has '^v4_port 203.0.113.41 ' || fail "a refused unban --all deleted bans"
# SIGHUP applies a changed socket_group too: back to 0600 root
printf '[Definition]\nnft_file = %s\n' "$RIG_NFT_FILE" >"$RIG_CONF/nftjail.local"
kill -HUP "$RIG_DAEMON_PID"
rig_wait_until 10 bash -c "[ \"\$(stat -c '%a %g' '$RIG_SOCK')\" = '600 0' ]"
printf '[Definition]\nnft_file = %s\nsocket_group = %s\n' "$RIG_NFT_FILE" "$grp" >"$RIG_CONF/nftjail.local"
rig_ctl reload >/dev/null
# a uid outside the group that gets past the mode is refused by the daemon
rc=0
out=$(setpriv --reuid 65533 --regid 65533 --clear-groups --inh-caps +dac_override --ambient-caps +dac_override \
	-- "$NFTJAIL" --socket "$RIG_SOCK" status 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "nftjail status: permission denied: uid 65533 is neither root nor in group '$grp'" ] ||
	fail "non-member: $rc $out"

# 11. stop: the socket is removed; a stale socket file does not stop the next start
rig_stop_daemon
[ -e "$RIG_SOCK" ] && fail "socket left after exit"
"$RIG_PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$RIG_SOCK"
rc=0
out=$(rig_ctl ping 2>&1) || rc=$?
[ "$rc" = 3 ] && [[ "$out" == *"the daemon is not running"*"Connection refused"* ]] || fail "stale socket: $rc $out"
RIG_DAEMON_WAIT=0 rig_start_daemon
rig_wait_until 15 bash -c "'$NFTJAIL' --socket '$RIG_SOCK' ping"
[ "$(rig_ctl ping)" = pong ] || fail "ping after a stale socket"
rig_stop_daemon
echo ok
