#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one libFuzzer harness (docs/FUZZING.md):
#   tests/fuzz/run.sh BUILD_DIR NAME SECONDS [LIBFUZZER_ARGS...]
# BUILD_DIR is a build configured with CC=clang -Dfuzz=true (test.sh makes build-fuzz). The
# inputs the run finds go to BUILD_DIR/fuzz/corpus/NAME (kept between runs; the seed corpus
# tests/fuzz/corpus/NAME is only read), a finding to BUILD_DIR/fuzz/artifacts/NAME/
# (crash-*, leak-*, timeout-*, oom-*). Exit status 0: no finding within SECONDS.
#
# Before fuzzing, the inputs of tests/fuzz/known/NAME/ (findings whose fix is owned elsewhere
# and not yet merged) are run once: if one still fails the harness is not fuzzed (exit 77, the
# finding is known); if none fails any more the fix has landed, and the run fails until
# tests/fuzz/known/NAME/ is removed (its inputs belong in the fix's unit test).
set -uo pipefail

[ $# -ge 3 ] || { echo "usage: $0 BUILD_DIR NAME SECONDS [LIBFUZZER_ARGS...]" >&2; exit 2; }
build=$1 name=$2 seconds=$3
shift 3
src=$(dirname "$(readlink -f "$0")")
exe=$build/tests/fuzz/fuzz-$name
[ -x "$exe" ] || { echo "$exe: not built (meson compile -C $build fuzzers)" >&2; exit 2; }

# per harness: the largest input (match needs lines past SOURCE_LINE_MAX, 8192 bytes, to test cut lines)
case $name in
match) max_len=20000 ;;
conf | date | nft-dump) max_len=16384 ;;
*) max_len=4096 ;;
esac

export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}"

if [ -d "$src/known/$name" ]; then
	still=0
	for f in "$src/known/$name"/*; do
		[ -f "$f" ] || continue
		if "$exe" -timeout=10 "$f" >/dev/null 2>&1; then
			echo "fuzz-$name: known finding $f no longer fails"
		else
			echo "fuzz-$name: known finding $f still fails (see tests/fuzz/known/README.md); not fuzzed"
			still=1
		fi
	done
	[ $still = 1 ] && exit 77
	echo "fuzz-$name: FAIL: every known finding is fixed: remove tests/fuzz/known/$name (see tests/fuzz/known/README.md)"
	exit 1
fi

work=$build/fuzz/corpus/$name
artifacts=$build/fuzz/artifacts/$name/
mkdir -p "$work" "$artifacts"
echo "fuzz-$name: ${seconds}s, corpus $work + $src/corpus/$name, findings in $artifacts"
# libFuzzer exits 77 on a finding by default: make it 1, 77 is "known" above
exec "$exe" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -max_len="$max_len" \
	-artifact_prefix="$artifacts" -print_final_stats=1 "$@" "$work" "$src/corpus/$name"
