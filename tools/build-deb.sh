#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian package from this tree: tools/build-deb.sh [OUTDIR] (default: ./dist).
# dpkg-buildpackage writes its results into the parent of the source directory, so the tree is
# copied (without build directories and .git) into a temporary directory and built there; the
# .deb, .buildinfo and .changes are moved to OUTDIR and the .deb's path is printed last.
# Needs no root (Rules-Requires-Root: no).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d /tmp/nftjail-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/nftjail"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./dist --exclude=./obj-\* \
	--exclude=./debian/.debhelper --exclude=./debian/nftjail -cf - . | tar -C "$tmp/nftjail" -xf -
(cd "$tmp/nftjail" && dpkg-buildpackage -b -uc -us -j"$(nproc)") >"$tmp/build.log" 2>&1 || {
	tail -n 60 "$tmp/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$tmp/build.log" "$out/build.log"
shopt -s nullglob
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
	mv -f "$f" "$out/"
done
ls "$out"/nftjail_*.deb | grep -v dbgsym | tail -n 1
