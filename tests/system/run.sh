#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The system test: Debian 12 booted with systemd-nspawn -b in a network namespace made here,
# nftjail installed into it as the README installs it (the .deb of tools/build-deb.sh, with
# apt-get install ./nftjail_*.deb, offline: the cached root holds every runtime dependency), and
# attacked over a veth from an attacker namespace with a real OpenSSH client and sshpass.
#   tests/system/run.sh [DEB]      (as root; without DEB, tools/build-deb.sh builds one)
# Each check prints "PASS: what" or "FAIL: what" (./test.sh counts each as one test); the last
# line is "system: N passed, N failed" and the exit status is non-zero if a check failed.
# Every ssh is bounded (timeout, ConnectTimeout, ServerAliveInterval, one password prompt): a
# connection whose address gets banned half-way sees its packets dropped and would otherwise
# wait for ever. Nothing here touches the host's firewall, journal, systemd or sshd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); src=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: the system test needs root"; exit 77; }
for t in debootstrap systemd-nspawn sshpass ssh nsenter; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (tools/install-deps.sh installs it)"; exit 77; }
done
passed=0 failed=0
check() { if "${@:2}"; then echo "PASS: $1"; passed=$((passed+1)); else echo "FAIL: $1"; failed=$((failed+1)); fi; }
t0=$(date +%s)
run=$(mktemp -d /var/tmp/nftjail-system.XXXXXX); srv=njsrv$$; att=njatt$$; leader=; nspawn=
cleanup() {
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		kill "$nspawn" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$nspawn" 2>/dev/null || true
		wait "$nspawn" 2>/dev/null || true
	fi
	ip netns del "$srv" 2>/dev/null || true; ip netns del "$att" 2>/dev/null || true
	if [ "$failed" != 0 ] || [ -n "${NFTJAIL_SYSTEM_KEEP:-}" ]; then
		echo "--- container console (last 40 lines of $run/console)"; tail -n 40 "$run/console" || true
		[ -n "${NFTJAIL_SYSTEM_KEEP:-}" ] && { echo "kept $run"; return; }
	fi
	rm -rf "$run"
}
trap cleanup EXIT

cache=$("$here/build-root.sh")
deb=${1:-}
if [ -z "$deb" ]; then
	deb=$("$src/tools/build-deb.sh" "$run/dist" | tail -n 1)
fi
echo "system: package $(basename "$deb"), root and package ready in $(( $(date +%s) - t0 )) s"
root=$run/root
cp -a --reflink=auto "$cache" "$root"          # the cache stays pristine
cp "$deb" "$root/root/"
chroot "$root" sh -c 'useradd -m -s /bin/bash alice && echo alice:correct-horse | chpasswd
	useradd -m -s /bin/bash mallory && echo mallory:mallory-pw | chpasswd'
# make_net: the server's namespace (fresh each boot) with a veth to the attacker's
make_net() {
	ip netns add "$srv"; ip netns add "$att" 2>/dev/null || true
	ip -n "$srv" link add veth0 type veth peer name veth1 netns "$att"
	ip -n "$srv" addr add 203.0.113.1/24 dev veth0; ip -n "$srv" addr add 2001:db8:1::1/48 dev veth0 nodad
	for a in 10 11 12 13 14 15 30; do ip -n "$att" addr add 203.0.113.$a/24 dev veth1; done
	ip -n "$att" addr add 2001:db8:1:a::10/48 dev veth1 nodad; ip -n "$att" addr add 2001:db8:1:b::10/48 dev veth1 nodad
	for n in "$srv" "$att"; do ip -n "$n" link set lo up; done
	ip -n "$srv" link set veth0 up; ip -n "$att" link set veth1 up
}
inside() { nsenter -t "$leader" -a -- "$@"; }
# wait_until SECONDS COMMAND...: polls every 0.2 s
wait_until() { local end=$(( $(date +%s) + $1 )); shift; until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done; }
booted() { [ "$(inside systemctl is-system-running 2>/dev/null)" != starting ] && inside systemctl is-active -q ssh; }
boot() {
	systemd-nspawn -q -b -D "$root" --register=no --keep-unit --network-namespace-path=/run/netns/$srv \
		--capability=CAP_NET_ADMIN >>"$run/console" 2>&1 & nspawn=$!
	leader=
	for _ in $(seq 150); do leader=$(pgrep -P "$nspawn" -x systemd || true); [ -n "$leader" ] && break; sleep 0.2; done
	[ -n "$leader" ] && wait_until 60 booted
}
make_net
boot || [ -n "$leader" ] || { echo "FAIL: the container did not boot"; failed=1; exit 1; }

# ---- install as the README does
installed() {
	inside sh -c 'cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./nftjail_*.deb' \
		>"$run/apt.log" 2>&1 || { tail -n 20 "$run/apt.log"; return 1; }
}
check "apt-get install ./$(basename "$deb") (offline)" installed
active_since_start() { inside systemctl is-active -q nftjaild && [ "$(inside systemctl show -P NRestarts nftjaild)" = 0 ]; }
wait_until 30 inside systemctl is-active -q nftjaild || true
sleep 2  # is-active alone passes between two auto-restarts of a failing unit
check "nftjaild active after the install, NRestarts=0" active_since_start
mainpid() { inside systemctl show -P MainPID nftjaild; }
# pid_says PATTERN: the journal of the daemon's current process has a line matching PATTERN
pid_says() { local l; l=$(inside journalctl -q -o cat --no-pager "_PID=$(mainpid)") && grep -qE "$1" <<<"$l"; }
least_privilege() {
	local pid st
	pid=$(mainpid); st=$(inside cat "/proc/$pid/status")
	echo "  $(grep -E '^(Uid|Gid|Groups|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs)' <<<"$st" | tr '\n\t' '  ')"
	local uid; uid=$(inside id -u nftjail) || return 1
	grep -qE "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" <<<"$st" &&
		for c in CapEff CapPrm CapBnd CapAmb; do grep -qE "^$c:[[:space:]]+0*1000\$" <<<"$st" || return 1; done
}
check "nftjaild runs as user nftjail with CAP_NET_ADMIN alone (/proc/PID/status)" least_privilege
score() {
	inside systemd-analyze security nftjaild >"$run/security" 2>&1 || true
	local s; s=$(sed -n 's/.*Overall exposure level for nftjaild.service: \([0-9.]*\).*/\1/p' "$run/security")
	echo "  systemd-analyze security nftjaild: ${s:-?}"
	[ -n "$s" ] && awk -v s="$s" 'BEGIN { exit !(s <= 2.0) }'
}
check "systemd-analyze security nftjaild at most 2.0" score

# ---- attacks
SSH=(ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=3
	-o ServerAliveInterval=1 -o ServerAliveCountMax=3 -o ConnectionAttempts=1)
# pw SRC USER PASSWORD [COMMAND]: one password login attempt, one prompt, bounded
pw() {
	local dst=203.0.113.1; [[ $1 == *:* ]] && dst=2001:db8:1::1
	ip netns exec "$att" timeout -k 2 15 sshpass -p "$3" "${SSH[@]}" -o PreferredAuthentications=password \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -b "$1" "$2@$dst" "${4:-true}" </dev/null 2>/dev/null
}
nftlist() { inside nft list table inet nftjail 2>/dev/null; }
# (not "nftlist | grep -q": grep leaving early makes nft die of SIGPIPE, and pipefail fails it)
banned() { local l; l=$(nftlist) && grep -qF "$1" <<<"$l"; }
# attack SRC USER [BANNED]: wrong passwords until BANNED (default "SRC ") is in the table (at
# most 8 tries), then waits up to 15 s for it
attack() {
	local b=${3:-$1 }
	for _ in $(seq 8); do banned "$b" && break; pw "$1" "$2" wrong-password >/dev/null || true; done
	wait_until 15 banned "$b"
}
check "5 wrong passwords for alice: 203.0.113.10 banned" attack 203.0.113.10 alice
# a local user forging sshd's lines: logger -t sshd and a copy of logger named sshd (_COMM=sshd)
forge() {
	local line="Failed password for root from 203.0.113.97 port 22 ssh2"
	pw 203.0.113.30 mallory mallory-pw "for i in 1 2 3 4 5 6; do logger -t sshd '$line'; logger -t sshd-session '$line'; done
		cp /usr/bin/logger ~/sshd && for i in 1 2 3 4 5 6; do ~/sshd -t sshd '$line'; done"
}
check "local user mallory runs logger -t sshd and a logger named sshd (6 lines each)" forge
check "wrong passwords for an unknown user: 203.0.113.11 banned" attack 203.0.113.11 nosuchuser
not_banned() { local l; l=$(nftlist) && ! grep -qF "$1" <<<"$l"; }
# the daemon reads the journal in order: 203.0.113.11's ban came after mallory's lines
check "mallory's forged lines banned nothing (203.0.113.97 not in the set)" not_banned 203.0.113.97
check "crafted user name 'x from 203.0.113.98 port 22': the source 203.0.113.12 banned" \
	attack 203.0.113.12 'x from 203.0.113.98 port 22'
check "crafted user name: 203.0.113.98 never banned" not_banned 203.0.113.98
v6() {
	attack 2001:db8:1:a::10 alice 2001:db8:1:a:: || return 1
	nftlist | grep -F 2001:db8:1:a:: | sed 's/^[[:space:]]*/  /'
	! banned 2001:db8:1:a::10
}
check "IPv6 attacker 2001:db8:1:a::10: 2001:db8:1:a::/64 banned" v6
check "IPv6 neighbour 2001:db8:1:b::10 (another /64) not banned and logs in" \
	sh -c "nsenter -t $leader -a nft list table inet nftjail >$run/nft && ! grep -qF 2001:db8:1:b $run/nft && \
		ip netns exec $att timeout -k 2 15 sshpass -p correct-horse ${SSH[*]} -o NumberOfPasswordPrompts=1 -b 2001:db8:1:b::10 alice@2001:db8:1::1 true"
check "legitimate login from 203.0.113.30 works" pw 203.0.113.30 alice correct-horse
pubkey_none() { # 203.0.113.13: "none" and public-key attempts (no key is accepted), then open-and-close
	local k=$run/id_ed25519
	[ -e "$k" ] || ssh-keygen -q -t ed25519 -N '' -f "$k"
	for _ in 1 2 3 4 5 6; do
		banned "203.0.113.13 " && break
		ip netns exec "$att" timeout -k 2 15 "${SSH[@]}" -o BatchMode=yes -o PreferredAuthentications=publickey \
			-o IdentitiesOnly=yes -i "$k" -b 203.0.113.13 alice@203.0.113.1 true </dev/null >/dev/null 2>&1 || true
		ip netns exec "$att" timeout -k 2 15 "${SSH[@]}" -o BatchMode=yes -o PreferredAuthentications=none \
			-b 203.0.113.13 nosuchuser@203.0.113.1 true </dev/null >/dev/null 2>&1 || true
		ip netns exec "$att" timeout 3 bash -c 'exec 3<>/dev/tcp/203.0.113.1/22 && sleep 0.2' 2>/dev/null || true
	done
	echo "  203.0.113.13: $(nftlist | grep -c '203.0.113.13 ') element(s) after key, none and open-close attempts"
	inside systemctl is-active -q nftjaild
}
check "public-key, none and open-and-close attempts: the daemon stays up" pubkey_none

cli_root() {
	# root's nftjail against the daemon's socket (the user's, 0600): status, banned, ban, unban
	local out
	out=$(inside nftjail status) && grep -q sshd <<<"$out" || { echo "  nftjail status: $out"; return 1; }
	out=$(inside nftjail banned 203.0.113.10) && grep -qF 203.0.113.10 <<<"$out" || { echo "  nftjail banned: $out"; return 1; }
	inside nftjail ban sshd 198.51.100.7 && wait_until 10 banned "198.51.100.7 " &&
		inside nftjail unban 198.51.100.7 && wait_until 10 not_banned "198.51.100.7 "
}
check "nftjail as root: status, banned, ban and unban against the unprivileged daemon" cli_root
socket_group() {
	# socket_group = adm (nftjail is in adm through SupplementaryGroups=): mallory, in adm, may
	# run status; alice, not in it, may not
	printf '[Definition]\nsocket_group = adm\n' >"$root/etc/nftjail/nftjail.local"
	inside usermod -aG adm mallory && inside systemctl reload nftjaild || return 1
	local st; st=$(inside stat -c '%U:%G %a' /run/nftjail/nftjail.sock); echo "  socket: $st"
	[ "$st" = "nftjail:adm 660" ] && inside runuser -u mallory -- nftjail status >/dev/null &&
		! inside runuser -u alice -- nftjail status >/dev/null 2>&1 || return 1
	# a group nftjail is not in: said in the journal, the socket back to 0600, the daemon goes on
	printf '[Definition]\nsocket_group = users\n' >"$root/etc/nftjail/nftjail.local"
	inside systemctl reload nftjaild && wait_until 10 pid_says "not a member of socket_group 'users'" &&
		[ "$(inside stat -c '%a' /run/nftjail/nftjail.sock)" = 600 ] || return 1
	rm -f "$root/etc/nftjail/nftjail.local"; inside gpasswd -q -d mallory adm
	inside systemctl reload nftjaild && [ "$(inside stat -c '%U:%G %a' /run/nftjail/nftjail.sock)" = "nftjail:nftjail 600" ]
}
check "socket_group = adm: the socket is nftjail:adm 0660, a member may run status, others not; a group nftjail is not in: 0600, said" socket_group
readme_journal() {
	# the README's queries (Troubleshooting with journalctl), as it gives them
	local ban=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01 out
	out=$(inside journalctl -u nftjaild MESSAGE_ID=$ban --no-pager -o cat) && grep -q 'banned 203.0.113.10 ' <<<"$out" || return 1
	out=$(inside journalctl -u nftjaild NFTJAIL_ADDR=203.0.113.10 --no-pager -o cat) &&
		grep -q 'found 203.0.113.10' <<<"$out" && grep -q 'banned 203.0.113.10 ' <<<"$out" || return 1
	out=$(inside journalctl -u nftjaild MESSAGE_ID=$ban NFTJAIL_ADDR=203.0.113.10 -o verbose --no-pager) &&
		grep -q 'NFTJAIL_JAIL=sshd' <<<"$out" || return 1
	out=$(inside journalctl -u nftjaild MESSAGE_ID=$ban NFTJAIL_JAIL=sshd --since today -o cat --no-pager) &&
		[ "$(grep -c 'banned ' <<<"$out")" -ge 5 ] || return 1
	out=$(inside journalctl -x -u nftjaild MESSAGE_ID=$ban --no-pager) && grep -q 'Subject: nftjail banned\|░░' <<<"$out"
}
check "the README's journalctl queries: bans by MESSAGE_ID, NFTJAIL_ADDR, NFTJAIL_JAIL, -x explained" readme_journal
mail() {
	# postfix's sendmail needs its setgid postdrop, which no_new_privs voids: a ban's mail fails in
	# the shipped sandbox and goes out with docs/SERVICE.md's drop-in (the group, the maildrop)
	local e=$root/etc/nftjail d=$root/etc/systemd/system/nftjaild.service.d
	inside systemctl is-active -q postfix@- || inside systemctl start postfix@- || return 1
	printf '[sshd]\naction = %%(action_)s\n         sendmail[dest="alice@localhost", sender="root@localhost"]\n' >"$e/jail.d/sshd.local"
	inside systemctl reload nftjaild || return 1
	# postdrop retries its maildrop every 10 s: the worker's 30 s timeout ends it
	attack 203.0.113.14 alice && wait_until 50 pid_says 'about 203\.0\.113\.14: /usr/sbin/sendmail' || return 1
	echo "  shipped unit: $(inside journalctl -q -o cat --no-pager "_PID=$(mainpid)" | grep -m1 'about 203.0.113.14: /usr/sbin/sendmail' | cut -c1-200)"
	mkdir -p "$d" && printf '[Service]\nSupplementaryGroups=postdrop\nReadWritePaths=/var/spool/postfix/maildrop\n' >"$d/postfix.conf"
	inside systemctl daemon-reload && inside systemctl restart nftjaild || return 1
	attack 203.0.113.15 alice || return 1
	wait_until 30 pid_says 'about 203\.0\.113\.15 handed to sendmail' &&
		wait_until 30 grep -qs 203.0.113.15 "$root/var/mail/alice" || return 1
	echo "  with the drop-in: $(grep -m1 '^Subject:' "$root/var/mail/alice")"
	rm -f "$d/postfix.conf" "$e/jail.d/sshd.local"
	inside systemctl daemon-reload && inside systemctl restart nftjaild
}
check "mail through postfix: fails in the shipped sandbox, delivered with the documented drop-in" mail

# ---- supervision: bans survive reload, restart, SIGKILL, nftables.service restart
bans_kept() { banned "203.0.113.10 " && banned "203.0.113.11 " && banned "203.0.113.12 "; }
restarted_from() { local p; p=$(mainpid); [ "$p" != 0 ] && [ "$p" != "$1" ] && inside systemctl is-active -q nftjaild; }
reload() {
	local p; p=$(mainpid)
	inside systemctl reload nftjaild && [ "$(mainpid)" = "$p" ] && inside systemctl is-active -q nftjaild && bans_kept
}
check "systemctl reload nftjaild: same process, bans kept" reload
restart() { local p; p=$(mainpid); inside systemctl restart nftjaild && wait_until 20 restarted_from "$p" && bans_kept; }
check "systemctl restart nftjaild: active again, bans kept" restart
kill9() {
	local p n; p=$(mainpid); n=$(inside systemctl show -P NRestarts nftjaild)
	inside systemctl kill -s KILL nftjaild && wait_until 30 restarted_from "$p" &&
		[ "$(inside systemctl show -P NRestarts nftjaild)" -gt "$n" ] && bans_kept
}
check "systemctl kill -s KILL nftjaild: restarted by systemd, bans kept" kill9
nftables_restart() {
	inside systemctl restart nftables || return 1
	wait_until 30 bans_kept && inside systemctl is-active -q nftjaild
}
check "systemctl restart nftables (Debian's /etc/nftables.conf flushes the ruleset): bans back" nftables_restart
credential() {
	# reporting on, the key in a root-only file: as nftjail the daemon cannot read it and says how
	# to hand it over; with LoadCredential= in a drop-in it reads $CREDENTIALS_DIRECTORY's copy
	# (the url is a closed loopback port: no traffic leaves the container)
	local e=$root/etc/nftjail d=$root/etc/systemd/system/nftjaild.service.d
	printf '[abuseipdb]\nenabled = true\napikey_file = /etc/nftjail/abuseipdb.key\nurl = http://127.0.0.1:9/api/v2\n' >"$e/nftjail.local"
	printf '[sshd]\naction = %%(action_)s\n         %%(action_abuseipdb)s[abuseipdb_category="18,22"]\n' >"$e/jail.d/sshd.local"
	(umask 077; echo 0123456789abcdef0123456789abcdef >"$e/abuseipdb.key")
	inside systemctl restart nftjaild && wait_until 20 pid_says 'LoadCredential=abuseipdb_apikey:/etc/nftjail/abuseipdb.key' || return 1
	echo "  without the credential: $(inside journalctl -q -o cat --no-pager "_PID=$(mainpid)" | grep -m1 'cannot read the key')"
	mkdir -p "$d" && printf '[Service]\nLoadCredential=abuseipdb_apikey:/etc/nftjail/abuseipdb.key\n' >"$d/credential.conf"
	inside systemctl daemon-reload && inside systemctl restart nftjaild || return 1
	wait_until 20 pid_says 'AbuseIPDB: using the key in /run/credentials/nftjaild.service/abuseipdb_apikey' || return 1
	echo "  with it: $(inside journalctl -q -o cat --no-pager "_PID=$(mainpid)" | grep -m1 'using the key')"
	rm -f "$d/credential.conf" "$e/nftjail.local" "$e/jail.d/sshd.local"
	inside systemctl daemon-reload && inside systemctl restart nftjaild && bans_kept
}
check "AbuseIPDB key in a root-only file: read through LoadCredential= as user nftjail" credential
state_from_root() {
	# an older version ran as root and left its state root's: systemd gives it to nftjail
	inside systemctl stop nftjaild && inside chown -R root:root /var/lib/nftjail && inside systemctl start nftjaild &&
		wait_until 20 inside systemctl is-active -q nftjaild && bans_kept &&
		[ -z "$(inside find /var/lib/nftjail ! -user nftjail)" ]
}
check "state left owned by root (an upgrade): nftjaild starts, owns it, bans kept" state_from_root
watchdog() {
	# a short watchdog for the test; the SIGABRT that comes first stays pending on a stopped
	# process, so TimeoutAbortSec bounds the wait for the SIGKILL after it
	mkdir -p "$root/etc/systemd/system/nftjaild.service.d"
	printf '[Service]\nWatchdogSec=5s\nTimeoutAbortSec=5s\n' >"$root/etc/systemd/system/nftjaild.service.d/watchdog.conf"
	inside systemctl daemon-reload && inside systemctl restart nftjaild || return 1
	wait_until 20 inside systemctl is-active -q nftjaild || return 1
	local p n; p=$(mainpid); n=$(inside systemctl show -P NRestarts nftjaild)
	inside kill -STOP "$p" || return 1
	wait_until 40 restarted_from "$p" && [ "$(inside systemctl show -P NRestarts nftjaild)" -gt "$n" ] &&
		inside journalctl -q -u nftjaild --no-pager | grep -q 'Watchdog timeout' && bans_kept
}
check "watchdog (WatchdogSec=5s): a stopped daemon is restarted, bans kept" watchdog

reboot_check() {
	# poweroff, a fresh network namespace (an empty ruleset), boot: nftables.service loads Debian's
	# /etc/nftables.conf first, then nftjaild restores the bans with the time they have left
	inside systemctl enable -q nftables || return 1
	inside systemctl poweroff || true
	for _ in $(seq 300); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.2; done
	wait "$nspawn" 2>/dev/null || true; nspawn=
	ip netns del "$srv" && make_net && boot || return 1
	inside systemctl is-active -q nftables && wait_until 30 bans_kept || return 1
	local l; l=$(nftlist | grep -F '203.0.113.10 ' | sed 's/^[[:space:]]*//'); echo "  after the reboot: $l"
	[[ $l == *timeout* && $l != *"timeout 10m "* ]]
}
check "reboot into a fresh network namespace: bans restored with the time they have left" reboot_check
echo "system: $passed passed, $failed failed in $(( $(date +%s) - t0 )) s"
[ "$failed" -eq 0 ]
