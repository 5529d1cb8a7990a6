#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Started without CAP_NET_ADMIN (a unit or container that lacks it), nftjaild must say that the
# kernel refused the listing and which capability it lacks, and exit with status 4 (the unit's
# RestartPreventExitStatus), not claim that the table is missing and that loading the file failed.
# shellcheck disable=SC1091
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"

rig_conf_dir
status=0
# root still, but with CAP_NET_ADMIN dropped from every set, the bounding set included
setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
	"$NFTJAILD" --foreground --config-dir "$RIG_CONF" --state-dir "$RIG_STATE" --socket "$RIG_SOCK" \
	--log-target stderr </dev/null >/dev/null 2>"$RIG_TMP/stderr" || status=$?
rig_note "exit status $status; stderr: $(tr '\n' ' ' <"$RIG_TMP/stderr")"
[ "$status" = 4 ] || fail "exit status $status, expected 4"
grep -q 'kernel refused to list table inet nftjail.*CAP_NET_ADMIN' "$RIG_TMP/stderr" ||
	fail "the error does not name the refusal and CAP_NET_ADMIN"
if grep -q 'is missing and loading' "$RIG_TMP/stderr"; then
	fail "the daemon still claims the table is missing"
fi
# with the capability the same configuration starts (the refusal above was the capability's)
rig_start_daemon
rig_ctl ping >/dev/null || fail "the daemon with CAP_NET_ADMIN does not answer"
rig_stop_daemon
echo ok
