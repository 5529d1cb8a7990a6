#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start on a fresh Debian 12 machine, as root: installs the build dependencies, builds the
# Debian package (tools/build-deb.sh, into dist/) and installs it with apt-get, which enables and
# starts nftjaild.service with the shipped configuration (the sshd jail on the journal).
# Upgrade: run it again. Remove: apt remove nftjail (bans stay in the kernel until they expire);
# apt purge nftjail also deletes the state (debian/README.Debian).
# Without systemd as PID 1 (a chroot, a plain container) the package installs and nothing starts:
# the script says so; start the daemon with "nftjaild --foreground &", or run
# "./quickstart.sh --foreground" to have the script run it in the foreground.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" != 0 ]; then
	echo "quickstart.sh: run as root (it installs packages and loads an nftables table)" >&2
	exit 1
fi
foreground=false
[ "${1:-}" = --foreground ] && foreground=true

./tools/install-deps.sh
echo "quickstart.sh: building the package..."
deb=$(./tools/build-deb.sh "$PWD/dist" | tail -n 1)
echo "quickstart.sh: installing $deb"
# An admin's /etc/nftjail/*.local and jail.d files are never touched; a shipped .conf file that
# was edited is kept (confold) rather than asked about.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$deb"
nftjaild --test-config >/dev/null

if [ -d /run/systemd/system ]; then
	systemctl enable --now nftjaild
	systemctl --no-pager --lines=5 status nftjaild || true
	echo "quickstart.sh: nftjaild runs; try: nftjail status; journalctl -u nftjaild"
elif $foreground; then
	echo "quickstart.sh: no systemd as PID 1: running nftjaild in the foreground (Ctrl-C stops it; bans stay)"
	exec nftjaild --foreground
else
	echo "quickstart.sh: nftjail is installed, but systemd is not PID 1 here, so nothing was started."
	echo "quickstart.sh: start the daemon with:  nftjaild --foreground &"
fi
