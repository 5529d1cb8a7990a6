#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what nftjail needs to build, run and test on Debian 12 (as root).
#   tools/install-deps.sh           everything: build, package and test (test.sh, CI)
#   tools/install-deps.sh --build   only what building the .deb needs (quickstart.sh on a
#                                   production host: no test tools, no MTA, no compilers for fuzzing)
set -euo pipefail
packages=(
        meson ninja-build pkg-config gcc libc6-dev
        clang libclang-rt-14-dev
        libsystemd-dev libpcre2-dev libmnl-dev libnftnl-dev libnftables-dev libjansson-dev libcmocka-dev
        libcurl4-openssl-dev libsqlite3-dev sqlite3
        nftables iproute2 systemd python3 util-linux bsdutils procps
        dpkg-dev debhelper lintian groff-base man-db
        msmtp-mta python3-aiosmtpd prometheus-node-exporter
        libnats-dev nats-server
        debootstrap systemd-container sshpass openssh-client
)
build_packages=(
        meson ninja-build pkg-config gcc libc6-dev dpkg-dev debhelper
        libsystemd-dev libpcre2-dev libmnl-dev libnftnl-dev libnftables-dev libjansson-dev
        libcurl4-openssl-dev libsqlite3-dev nftables libnats-dev
)
[ "${1:-}" = --build ] && packages=("${build_packages[@]}")
missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
