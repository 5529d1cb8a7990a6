#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Instruction counts (valgrind --tool=callgrind: the same for the same binary and inputs, whatever
# else the machine does) of two fixed pieces of work, to compare builds before and after a change
# that should not change the work done:
#   match-sshd      bench-match on a fixed 20,000-line generated auth log
#   test-config     nftjaild --test-config with 10 jails on log files (the shipped filters)
# Usage: tests/bench/callgrind-counts.sh BUILD_DIR   (needs valgrind; no root)
set -euo pipefail
build=$(readlink -f "${1:?usage: callgrind-counts.sh BUILD_DIR}")
src=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
command -v valgrind >/dev/null || { echo "callgrind-counts.sh: valgrind is not installed" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$src/tests/bench/gen-authlog.py" --lines 20000 --addresses 500 --seed 7 >"$tmp/auth.log"

cp -a "$src/conf" "$tmp/conf"
mkdir -p "$tmp/conf/jail.d" "$tmp/logs"
filters=(sshd proxmox recidive)
for i in $(seq 0 9); do
	: >"$tmp/logs/j$i.log"
	printf '[j%d]\nenabled = true\nfilter = %s\nbackend = auto\nlogpath = %s\nport = %d\nmaxretry = 5\nfindtime = 1h\nbantime = 1h\n\n' \
		"$i" "${filters[$((i % 3))]}" "$tmp/logs/j$i.log" "$((1000 + i))"
done >"$tmp/conf/jail.d/bench.local"
printf '[Definition]\nnft_file = %s\n' "$src/nft/nftjail.nft" >"$tmp/conf/nftjail.local"

count() { # NAME CMD...
	local name=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$tmp/$name.out" "$@" >/dev/null 2>"$tmp/$name.err" ||
		{ cat "$tmp/$name.err" >&2; echo "callgrind-counts.sh: $name failed" >&2; exit 1; }
	printf '%-12s %s instructions\n' "$name" "$(sed -n 's/^summary: //p' "$tmp/$name.out")"
}

bench_match=$(find "$build/tests/bench" -name bench-match -type f | head -1)
nftjaild=$(find "$build/src" -name nftjaild -type f | head -1)
(cd "$src" && count match-sshd "$bench_match" "$tmp/auth.log")
count test-config "$nftjaild" --test-config --config-dir "$tmp/conf"
