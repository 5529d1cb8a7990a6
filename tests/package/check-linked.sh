#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-linked.sh NFTJAILD NFTJAIL: neither binary links libnats (the fleet dlopen()s it,
# src/fleet/fleet-nats.h), nor OpenSSL (libssl, libcrypto: libnats and libcurl, both loaded on
# demand, pull it in), nor libcurl and libnftables (loaded on first use, util/dlopen-util.h).
# A daemon that never needs them never maps them (test-idle-maps checks the running daemon).
set -euo pipefail
command -v readelf >/dev/null || { echo "SKIP: readelf is not installed"; exit 77; }
fail=0
for bin in "$@"; do
	needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
	[ -n "$needed" ] || { echo "FAIL: no NEEDED entries read from $bin" >&2; fail=1; continue; }
	bad=$(grep -E '^lib(nats|ssl|crypto|curl|nftables)\.so' <<<"$needed" || true)
	if [ -n "$bad" ]; then
		echo "FAIL: $(basename "$bin") links $(tr '\n' ' ' <<<"$bad")" >&2
		fail=1
	else
		echo "ok: $(basename "$bin") needs only $(tr '\n' ' ' <<<"$needed")"
	fi
done
exit $fail
