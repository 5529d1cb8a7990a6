#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# IPv6: a ban takes the attacker's whole /64 (ipv6_prefix = 64, the default), so another address
# of the same /64 is blocked too. The ban survives a restart with its prefix (restore). An attacker
# on the host's own /64 gets a /128 (ignoreself: the host must not ban itself), and
# ipv6_prefix = 128 bans one address.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
# the attacker's own /64, 2001:db8:2::/64, routed over the veth (the host has 2001:db8::1/64)
rig_attacker_ns 192.0.2.66 2001:db8::66
rig_attacker_addr 2001:db8:2::66
rig_attacker_addr 2001:db8:2::77
ip -6 route add 2001:db8:2::/64 dev rig-t
rig_listen 22
rig_nft_load
rig_start_daemon --log-target journal
rig_connect 2001:db8::1 22 2001:db8:2::77 || fail "no connection before the ban"
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 2001:db8:2::66 port 4000$i ssh2"; done
rig_wait_until 10 rig_nft_has '^2001:db8:2::/64 tcp 22 3600 ' v6_port
# the other address of the same /64 is blocked; only one element
rig_connect 2001:db8::1 22 2001:db8:2::77 && fail "2001:db8:2::77 (same /64) still connects"
rig_connect 2001:db8::1 22 2001:db8::66 || fail "2001:db8::66 (another /64) is blocked"
[ "$(rig_nft_elements v6_port | wc -l)" = 1 ] || fail "expected one element: $(rig_nft_elements v6_port)"
# a second address of the banned /64 reaching maxretry extends the same element (no second,
# overlapping one, which the kernel would refuse)
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 2001:db8:2::77 port 4100$i ssh2"; done
rig_wait_until 10 rig_journal_has MESSAGE='sshd: banned 2001:db8:2::77 for 1h after 2 failures'
[ "$(rig_nft_elements v6_port | wc -l)" = 1 ] || fail "expected one element: $(rig_nft_elements v6_port)"
# the state keeps the offender's address and the prefix
[ "$(sqlite3 "$RIG_STATE/nftjail.db" "select group_concat(addr || '/' || prefixlen, ' ') from bans")" = "2001:db8:2::66/64 2001:db8:2::77/64" ] ||
	fail "state: $(sqlite3 "$RIG_STATE/nftjail.db" "select * from bans")"
# reboot: the /64 comes back as a /64
rig_stop_daemon
rig_nft delete table inet nftjail
rig_start_daemon --log-target journal
rig_wait_until 10 rig_nft_has '^2001:db8:2::/64 tcp 22 ' v6_port
rig_connect 2001:db8::1 22 2001:db8:2::77 && fail "2001:db8:2::77 connects after the restore"
# an attacker on the host's own /64 (2001:db8::/64): one address only
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 2001:db8::66 port 4300$i ssh2"; done
rig_wait_until 10 rig_nft_has '^2001:db8::66 tcp 22 3600 ' v6_port
rig_nft_has '^2001:db8::/64 ' v6_port && fail "a /64 ban covers the host's own address"
# the ban events name the prefix banned: journalctl NFTJAIL_PREFIX=2001:db8:2::/64 finds the /64
# ban, and the shrunk one is its address alone
ban_mid=4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01
rig_journal_has MESSAGE_ID=$ban_mid NFTJAIL_PREFIX=2001:db8:2::/64 NFTJAIL_ADDR=2001:db8:2::66 ||
	fail "no ban event with NFTJAIL_PREFIX=2001:db8:2::/64"
rig_journal_has MESSAGE_ID=$ban_mid NFTJAIL_PREFIX=2001:db8::66/128 ||
	fail "the ban on the host's own /64 is not NFTJAIL_PREFIX=2001:db8::66/128"
# the /64 is in the hash set keyed by the prefix, the single address in the one of addresses
rig_nft_has '^2001:db8:2::/64 tcp 22 ' v6_port_64 --exact || fail "not in v6_port_64: $(rig_nft_elements)"
rig_nft_has '^2001:db8::66 tcp 22 ' v6_port_128 --exact || fail "not in v6_port_128: $(rig_nft_elements)"
rig_stop_daemon

# a table of the layout before the hash sets: its IPv6 /64 and /128 bans are in the interval
# sets; loading the file again keeps them, and the daemon moves them to their hash sets at start
rig_nft delete table inet nftjail
cat >"$RIG_TMP/old.nft" <<'NFT'
table inet nftjail {
	set v4_port { type ipv4_addr . inet_proto . inet_service; flags timeout; counter; }
	set v6_port { type ipv6_addr . inet_proto . inet_service; flags interval, timeout; counter; }
	set v4 { type ipv4_addr; flags timeout; counter; }
	set v6 { type ipv6_addr; flags interval, timeout; counter; }
	chain input {
		type filter hook input priority filter - 10; policy accept;
		ip saddr . meta l4proto . th dport @v4_port drop
		ip6 saddr . meta l4proto . th dport @v6_port drop
		ip saddr @v4 drop
		ip6 saddr @v6 drop
	}
}
NFT
rig_nft -f "$RIG_TMP/old.nft"
rig_nft list set inet nftjail v6_port_64 >/dev/null 2>&1 && fail "the old layout has v6_port_64"
rig_nft add element inet nftjail v6_port '{ 2001:db8:7::/64 . tcp . 22 timeout 1h comment "sshd" }'
rig_nft add element inet nftjail v6 '{ 2001:db8:8::8 timeout 1h comment "recidive" }'
rig_nft -f "$RIG_NFT_FILE"
out=$(rig_nft_elements v6_port --exact)
[[ "$out" =~ ^2001:db8:7::/64\ tcp\ 22\ 3600\ [0-9]+\ sshd$ ]] || fail "reloading the file lost a ban: $out"
rig_start_daemon
rig_wait_until 10 rig_nft_has '^2001:db8:7::/64 tcp 22 ' v6_port_64 --exact
rig_nft_has '^2001:db8:8::8 - - ' v6_128 --exact || fail "v6 /128 not moved: $(rig_nft_elements)"
[ -z "$(rig_nft_elements v6_port --exact)$(rig_nft_elements v6 --exact)" ] || fail "left in the interval sets: $(rig_nft_elements)"
t=$(rig_nft_elements v6_port_64 --exact | awk '/^2001:db8:7::/ { print $4 }')
[ "$t" -le 3600 ] && [ "$t" -gt 3000 ] || fail "moved with timeout $t"
rig_ctl unban 2001:db8:7::1 >/dev/null
rig_nft_has '^2001:db8:7::' v6_port && fail "unban left the moved ban: $(rig_nft_elements)"
rig_stop_daemon

# ipv6_prefix = 128: one address
rig_nft delete table inet nftjail
rm -f "$RIG_STATE"/nftjail.db*
printf 'ipv6_prefix = 128\n' >>"$RIG_CONF/jail.d/test.local"
rig_nft_load
rig_start_daemon
for i in 1 2; do rig_log ssh.service sshd "Failed password for root from 2001:db8:2::66 port 4200$i ssh2"; done
rig_wait_until 10 rig_nft_has '^2001:db8:2::66 tcp 22 3600 ' v6_port
rig_connect 2001:db8::1 22 2001:db8:2::77 || fail "2001:db8:2::77 blocked by a /128 ban of 2001:db8:2::66"
rig_stop_daemon
echo ok
