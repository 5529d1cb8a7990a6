#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start on a fresh Debian 12 machine, as root: installs the build dependencies, builds,
# installs nftjail (/usr/sbin/nftjaild, /usr/bin/nftjail, /etc/nftjail, /usr/share/nftjail) and
# starts nftjaild in the foreground with the shipped configuration (the sshd jail on the journal).
# Stop it with Ctrl-C: its bans stay in the kernel until they expire.
# To run it as a service instead: systemctl enable --now nftjaild
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" != 0 ]; then
        echo "quickstart.sh: run as root (it installs packages and loads an nftables table)" >&2
        exit 1
fi
./tools/install-deps.sh
meson setup build --prefix=/usr --buildtype=debugoptimized --reconfigure >/dev/null 2>&1 ||
        meson setup build --prefix=/usr --buildtype=debugoptimized
ninja -C build
# An admin's /etc/nftjail/*.local and jail.d files are never overwritten: meson installs the
# shipped files, and *.local files are not shipped.
meson install -C build --no-rebuild
/usr/sbin/nftjaild --test-config >/dev/null
exec /usr/sbin/nftjaild --foreground "$@"
