#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The project's one test command (the README shows it; .ci/run runs it):
#   ./test.sh
# Builds two configurations and runs every meson test in each:
#   build       -Dwerror=true -Dbuildtype=debugoptimized
#   build-asan  -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
# then, when clang is installed, the libFuzzer harnesses (tests/fuzz, docs/FUZZING.md):
#   build-fuzz  CC=clang -Dfuzz=true -Db_sanitize=address,undefined, each harness run for
#               FUZZ_SECONDS (default 25) s; a crash, leak, timeout or sanitizer report fails it
# and last the system test (tests/system/run.sh, as root): each of its checks is one test.
# Integration tests need root; without root they skip. With CI=true a skipped
# test counts as failed (CI runs as root and must not skip).
# The last line is always "N passed, N failed"; the exit status is non-zero
# if anything failed.
set -uo pipefail

cd "$(dirname "$(readlink -f "$0")")" || exit 1

# On a fresh machine (as root) install what the build and the tests need first; it does nothing
# when everything is there already.
if [ "$(id -u)" = 0 ]; then
	./tools/install-deps.sh || { echo "tools/install-deps.sh failed"; echo "0 passed, 1 failed"; exit 1; }
	# fail2ban's sample logs for the compat tests (a failure shows as those tests skipping)
	./tools/fetch-f2b-samples.sh || true
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}"

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# run_build DIR MESON_TEST_ARGS -- MESON_SETUP_ARGS...
run_build() {
	local dir=$1
	shift
	local test_args=()
	while [ "$1" != -- ]; do
		test_args+=("$1")
		shift
	done
	shift
	echo "=== $dir: meson setup $*"
	local setup=(meson setup "$dir" "$@")
	[ -d "$dir/meson-private" ] && setup+=(--reconfigure)
	if ! "${setup[@]}"; then
		echo "$dir/meson-setup FAIL" >>"$results"
		return
	fi
	echo "=== $dir: compile"
	if ! meson compile -C "$dir"; then
		echo "$dir/compile FAIL" >>"$results"
		return
	fi
	echo "=== $dir: meson test"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "${test_args[@]}"
	if [ ! -s "$dir/meson-logs/testlog.json" ]; then
		echo "$dir/meson-test FAIL" >>"$results"
		return
	fi
	python3 - "$dir" >>"$results" <<-'PY'
		import json, sys
		d = sys.argv[1]
		with open(d + "/meson-logs/testlog.json") as f:
		    for line in f:
		        line = line.strip()
		        if line:
		            t = json.loads(line)
		            print("%s/%s %s" % (d, t["name"], t["result"]))
	PY
}

run_build build -- -Dwerror=true -Dbuildtype=debugoptimized
run_build build-asan --timeout-multiplier 3 -- \
	-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true

# The fuzzers: one result per harness. tests/fuzz/run.sh exits 77 for a harness whose known
# finding (tests/fuzz/known/NAME) is not fixed yet: an expected failure, not fuzzed.
run_fuzz() {
	local dir=build-fuzz seconds=${FUZZ_SECONDS:-25} h rc
	if ! command -v clang >/dev/null; then
		echo "=== $dir: no clang (tools/install-deps.sh installs it)"
		echo "$dir/clang SKIP" >>"$results"
		return
	fi
	echo "=== $dir: CC=clang meson setup $dir -Dfuzz=true"
	local setup=(meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
		-Dbuildtype=debugoptimized)
	[ -d "$dir/meson-private" ] && setup+=(--reconfigure)
	if ! CC=clang "${setup[@]}"; then
		echo "$dir/meson-setup FAIL" >>"$results"
		return
	fi
	if ! meson compile -C "$dir" fuzzers; then
		echo "$dir/compile FAIL" >>"$results"
		return
	fi
	mkdir -p "$dir/fuzz"
	for h in $(sed -n "s/^fuzz_harnesses = \[\(.*\)\]/\1/p" tests/fuzz/meson.build | tr -d "',"); do
		echo "=== $dir: fuzz-$h for ${seconds}s"
		tests/fuzz/run.sh "$dir" "$h" "$seconds" >"$dir/fuzz/fuzz-$h.log" 2>&1
		rc=$?
		case $rc in
		0) echo "$dir/fuzz-$h OK" >>"$results" ;;
		77) echo "$dir/fuzz-$h EXPECTEDFAIL" >>"$results"; grep '^fuzz-' "$dir/fuzz/fuzz-$h.log" ;;
		*) echo "$dir/fuzz-$h FAIL" >>"$results"; tail -n 60 "$dir/fuzz/fuzz-$h.log"
		   echo "fuzz-$h: full log $dir/fuzz/fuzz-$h.log; the input is in $dir/fuzz/artifacts/$h/" ;;
		esac
	done
}
run_fuzz

# The system test (tests/system/run.sh): Debian 12 booted with systemd-nspawn, the .deb installed
# with apt-get, attacked with OpenSSH from another network namespace; one result per check.
# Its Debian root is cached under /var/cache/nftjail-tests (about a minute to build the first time).
run_system() {
	local log=build/system.log rc
	mkdir -p build
	echo "=== system: tests/system/run.sh (log in $log)"
	tests/system/run.sh >"$log" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|SKIP): |^system: ' "$log"
	sed -n 's/^PASS: \(.*\)/system\/\1 OK/p; s/^FAIL: \(.*\)/system\/\1 FAIL/p' "$log" >>"$results"
	if [ $rc = 77 ]; then
		echo "system/run SKIP" >>"$results"
	elif [ $rc != 0 ] && ! grep -q '^FAIL: ' "$log"; then
		tail -n 40 "$log"
		echo "system/run FAIL" >>"$results"
	fi
}
run_system

python3 - "$results" "${CI:-}" <<'PY'
import sys
path, ci = sys.argv[1], sys.argv[2].lower() in ("true", "1", "yes")
passed, failed, skipped, bad = 0, 0, 0, []
for line in open(path):
    name, result = line.rsplit(None, 1)
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP" and not ci:
        skipped += 1
        print("skipped: %s" % name)
    else:
        failed += 1
        bad.append("%s (%s%s)" % (name, result, ", counted as failed because CI=true" if result == "SKIP" else ""))
for b in bad:
    print("FAILED: %s" % b)
if skipped:
    print("%d skipped (not run as root?)" % skipped)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
