#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what nftjail needs to build, run and test on Debian 12 (as root).
set -euo pipefail
packages=(
        meson ninja-build pkg-config gcc libc6-dev
        clang libclang-rt-14-dev
        libsystemd-dev libpcre2-dev libmnl-dev libnftnl-dev libnftables-dev libjansson-dev libcmocka-dev
        libcurl4-openssl-dev libsqlite3-dev sqlite3
        nftables iproute2 systemd python3 util-linux bsdutils procps
        dpkg-dev debhelper lintian groff-base man-db
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
