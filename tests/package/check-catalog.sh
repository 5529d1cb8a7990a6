#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-catalog.sh CATALOG LOG_IDS_H: builds journald's catalog database from CATALOG in a
# temporary root with the real journalctl, then checks that every MESSAGE_ID of LOG_IDS_H is
# listed by journalctl --list-catalog with a subject, and that the catalog has no id the header
# lacks (a typo there would document an event that never comes).
set -euo pipefail
catalog=$1 header=$2
root=$(mktemp -d /tmp/nftjail-catalog.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/nftjail.catalog"
journalctl --update-catalog --root "$root"
listed=$(journalctl --root "$root" --list-catalog)
mapfile -t ids < <(sed -n 's/^#define NFTJAIL_MID_[A-Z_]*[[:space:]]*"\([0-9a-f]\{32\}\)".*/\1/p' "$header")
[ ${#ids[@]} -gt 0 ] || { echo "no MESSAGE_ID found in $header" >&2; exit 1; }
fail=0
for id in "${ids[@]}"; do
	if grep -q "^$id nftjail: ..*" <<<"$listed"; then
		echo "ok: $id $(grep "^$id " <<<"$listed" | cut -d' ' -f3-)"
	else
		echo "FAIL: $id (from $header) is not in journalctl --list-catalog" >&2
		fail=1
	fi
done
while read -r id; do
	if ! printf '%s\n' "${ids[@]}" | grep -qx "$id"; then
		echo "FAIL: $id is in the catalog but not in $header" >&2
		fail=1
	fi
done < <(sed -n 's/^-- \([0-9a-f]\{32\}\).*/\1/p' "$catalog")
echo "${#ids[@]} ids checked"
exit $fail
