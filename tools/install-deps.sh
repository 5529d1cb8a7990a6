#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what nftjail needs to build, run and test on Debian 12 (as root).
set -euo pipefail
packages=(
        meson ninja-build pkg-config gcc libc6-dev
        libsystemd-dev libpcre2-dev libmnl-dev libnftnl-dev libnftables-dev libjansson-dev libcmocka-dev
        libcurl4-openssl-dev libsqlite3-dev sqlite3
        nftables iproute2 systemd python3 util-linux bsdutils procps
)
missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# fail2ban's filter files and annotated sample logs, for tests/compat/f2b-samples.py (the
# compat-f2b-filters test): its package is unpacked, not installed, so that no fail2ban service
# is set up or started on this machine. Nothing of it is committed.
f2b_dir=/var/cache/nftjail-tests/fail2ban
if [ ! -d /usr/lib/python3/dist-packages/fail2ban/tests/files/logs ] && [ ! -d "$f2b_dir/etc/fail2ban/filter.d" ]; then
        tmp=$(mktemp -d)
        chmod 755 "$tmp"
        [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
        if (cd "$tmp" && apt-get download -qq fail2ban >/dev/null 2>&1) && mkdir -p "$f2b_dir" &&
                dpkg-deb -x "$tmp"/fail2ban_*.deb "$f2b_dir"; then
                :
        else
                echo "install-deps: could not fetch and unpack fail2ban's package (the compat-f2b-filters test needs it)" >&2
                rm -rf "$f2b_dir"
        fi
        rm -rf "$tmp"
fi
