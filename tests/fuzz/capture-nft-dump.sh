#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the seed corpus of fuzz-nft-dump (tests/fuzz/corpus/nft-dump/) from real dumps: in a
# network namespace of its own (never the host's ruleset), loads nft/nftjail.nft, adds IPv4, IPv6,
# port and interval elements (documentation addresses only) with comments and timeouts, and saves
# the kernel's answer to a GETSETELEM dump of each set. Needs root, nft, cc, libmnl and libnftnl.
#   tests/fuzz/capture-nft-dump.sh [OUT_DIR]
set -euo pipefail

src=$(dirname "$(readlink -f "$0")")
top=$(readlink -f "$src/../..")
out=$(readlink -f "${1:-$src/corpus/nft-dump}")
[ "$(id -u)" = 0 ] || { echo "$0: needs root (unshare -n)" >&2; exit 77; }
[ "${IN_NETNS:-}" = 1 ] || exec unshare -n env IN_NETNS=1 "$0" "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/capture" "$src/capture-nft-dump.c" $(pkg-config --cflags --libs libmnl libnftnl)
mkdir -p "$out"
nft -f "$top/nft/nftjail.nft"
# the order of nft_sets[] (src/daemon/nft/nft-key.c)
sets=(v4_port v6_port_128 v6_port_64 v6_port v4 v6_128 v6_64 v6)

capture() { # NAME SUFFIX
	local i
	for i in "${!sets[@]}"; do [ "${sets[$i]}" = "$1" ] && break; done
	"$tmp/capture" "$i" "$1" "$out/$1-$2"
}

for s in "${sets[@]}"; do capture "$s" empty; done

nft add element inet nftjail v4 '{ 192.0.2.1 timeout 1h comment "sshd", 198.51.100.7 timeout 10m comment "recidive", 203.0.113.255 }'
nft add element inet nftjail v4_port '{ 192.0.2.10 . tcp . 22 timeout 600s comment "sshd", 203.0.113.5 . udp . 51820 timeout 7d comment "a-jail-name-of-forty-characters-exactly!" }'
nft add element inet nftjail v6_128 '{ 2001:db8::1 timeout 1h comment "sshd", 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff timeout 5s }'
nft add element inet nftjail v6_64 '{ 2001:db8:1:2:: timeout 2h comment "sshd" }'
nft add element inet nftjail v6_port_128 '{ 2001:db8::53 . udp . 53 timeout 30m comment "named" }'
nft add element inet nftjail v6_port_64 '{ 2001:db8:5:6:: . tcp . 8006 timeout 1h comment "proxmox" }'
nft add element inet nftjail v6 '{ 2001:db8:a::/48 timeout 1d comment "recidive", 2001:db8:c::1 timeout 1h comment "sshd", 2001:db8:d::/63 timeout 90s comment "sshd" }'
nft add element inet nftjail v6_port '{ 2001:db8:b::/56 . tcp . 443 timeout 1h comment "nginx", 2001:db8:e::7 . tcp . 22 timeout 20m comment "sshd" }'
for s in "${sets[@]}"; do capture "$s" bans; done

# a dump of many messages (the kernel fills one recvfrom() buffer with several)
{
	printf 'add element inet nftjail v4 { '
	for i in $(seq 0 59); do printf '198.51.100.%d timeout %dm comment "sshd", ' "$i" $((i + 1)); done
	for i in $(seq 0 59); do printf '203.0.113.%d timeout 1h comment "jail-%d", ' "$i" "$i"; done
	printf '192.0.2.200 }\n'
} | nft -f -
capture v4 many
ls -l "$out"
