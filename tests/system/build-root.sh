#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds (once) a Debian 12 root for the system test under /var/cache/nftjail-tests/<key>,
# keyed by the package list, so the container needs no network. Prints its path on stdout.
set -euo pipefail
CACHE=${NFTJAIL_TEST_CACHE:-/var/cache/nftjail-tests}
include=systemd,systemd-sysv,dbus,openssh-server,nftables,sudo,bsdutils,iproute2,procps,postfix
include+=,libpcre2-8-0,libmnl0,libnftnl11,libnftables1,libjansson4,libsqlite3-0,libcurl4,libsystemd0,libnats3.4
key=$(printf 'bookworm %s\n' "$include" | sha256sum | cut -c1-16)
root=$CACHE/bookworm-$key
if [ ! -e "$root/.complete" ]; then
        mkdir -p "$CACHE"
        rm -rf "$root.tmp"
        # the mirror apt uses here (deb822 or one-line form), else deb.debian.org
        mirror=$( { sed -n 's/^URIs: *\(http[^ ]*\/debian\/\?\)$/\1/p' /etc/apt/sources.list.d/*.sources
                    sed -n 's/^deb \(\[[^]]*\] \)\?\(http[^ ]*\/debian\/\?\) bookworm .*/\2/p' /etc/apt/sources.list; } 2>/dev/null | head -1 || true)
        start=$(date +%s.%N)
        debootstrap --variant=minbase --include="$include" bookworm "$root.tmp" "${mirror:-http://deb.debian.org/debian}" >&2
        end=$(date +%s.%N)
        echo "debootstrap wall time: $(echo "$end - $start" | bc 2>/dev/null || python3 -c "print($end-$start)") s" >&2
        rm -rf "$root.tmp"/var/cache/apt/archives/*.deb
        touch "$root.tmp/.complete"
        mv "$root.tmp" "$root"
else
        echo "debootstrap: cached root $root" >&2
fi
echo "$root"
