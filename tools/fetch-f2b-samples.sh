#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# For the tests only (test.sh runs it as root; quickstart.sh does not): fail2ban's filter files and
# annotated sample logs, which tests/compat/f2b-samples.py (the compat-f2b-filters tests) reads.
# When fail2ban is not installed, its Debian package is fetched (apt-get download) and unpacked
# into /var/cache/nftjail-tests/fail2ban: never installed, so no fail2ban service is set up or
# started on this machine. Nothing of it is committed. Exits 0 when the files are there.
set -euo pipefail
dir=/var/cache/nftjail-tests/fail2ban
[ ! -d /usr/lib/python3/dist-packages/fail2ban/tests/files/logs ] || exit 0
[ ! -d "$dir/etc/fail2ban/filter.d" ] || exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
[ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
if (cd "$tmp" && apt-get download -qq fail2ban >/dev/null 2>&1) && mkdir -p "$dir" &&
        dpkg-deb -x "$tmp"/fail2ban_*.deb "$dir"; then
        exit 0
fi
rm -rf "$dir"
echo "fetch-f2b-samples: could not fetch and unpack fail2ban's package (the compat-f2b-filters tests need it)" >&2
exit 1
