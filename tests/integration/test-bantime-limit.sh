#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control protocol's ban time and the kernel's limit for an element timeout (18446744073709 ms
# or more is ERANGE): "nftjail ban --time" past it is refused naming the request field, and
# nothing reaches the kernel (before, 18446744073709552 s wrapped into a 384 ms element while the
# log said "banned for 30500568904w"). The longest valid time, and a long one, give elements
# whose kernel timeout is exactly that.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 3
bantime = 1h
CONF
rig_start_daemon --log-target journal

rc=0
out=$(rig_ctl ban sshd 192.0.2.200 --time 18446744073709552 2>&1) || rc=$?
rig_note "ban --time 18446744073709552: exit $rc: $out"
[ "$rc" != 0 ] || fail "a ban time past the kernel's limit was accepted: $out"
want="\"bantime\" 18446744073709552 is past the kernel's limit for an element timeout: at most 18446744073 seconds (about 584 years), or -1 for a permanent ban"
grep -qF -- "$want" <<<"$out" || fail "not the message naming the field: $out"
rc=0
out=$(rig_ctl ban sshd 192.0.2.201 --time 18446744074 2>&1) || rc=$?
[ "$rc" != 0 ] && grep -qF '"bantime" 18446744074 is past' <<<"$out" || fail "18446744074 s: exit $rc: $out"
[ -z "$(rig_nft_elements v4_port)" ] || fail "a refused ban reached the kernel: $(rig_nft_elements v4_port)"

# the longest ban the kernel takes, and ten years (timeouts in seconds, as nft -j gives them)
rig_ctl ban sshd 192.0.2.202 --time 18446744073 >/dev/null || fail "the longest valid ban was refused"
rig_ctl ban sshd 192.0.2.203 --time 3650d >/dev/null || fail "a ten-year ban was refused"
line=$(rig_nft_elements v4_port | grep '^192\.0\.2\.202 ') || fail "the longest ban is not in the kernel"
rig_note "element: $line"
[ "$(awk '{print $4}' <<<"$line")" = 18446744073 ] || fail "kernel timeout of the longest ban: $line"
line=$(rig_nft_elements v4_port | grep '^192\.0\.2\.203 ') || fail "the ten-year ban is not in the kernel"
[ "$(awk '{print $4}' <<<"$line")" = 315360000 ] || fail "kernel timeout of the ten-year ban: $line"
# the daemon's own view agrees
out=$(rig_ctl --json banned 192.0.2.202)
"$RIG_PY" -c 'import json, sys
d = json.loads(sys.argv[1]); b = d["bans"]
assert len(b) == 1 and b[0]["timeout_ms"] == 18446744073000 and not b[0]["permanent"], d' "$out" ||
	fail "banned 192.0.2.202: $out"
rig_stop_daemon
echo ok
