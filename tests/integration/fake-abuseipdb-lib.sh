# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the AbuseIPDB tests, after rig_enter: fake_abuseipdb.py on loopback and what it logged.
#   fake_abuseipdb_start PORT KEY   starts it with its state in SRV=$RIG_TMP/abuseipdb (set before:
#                                   extra keys in $SRV/keys), waits until it listens
#   mode MODE                       what it answers next (fake_abuseipdb.py's modes)
#   requests IP [RESULT]            the POSTs it logged for IP (with that result)
#   has_requests IP [RESULT]        at least one, for rig_wait_until
SRV=$RIG_TMP/abuseipdb
mkdir -p "$SRV"

fake_abuseipdb_start() {
	"$RIG_PY" "$RIG_LIBDIR/fake_abuseipdb.py" "$1" "$2" "$SRV" 2>>"$RIG_TMP/abuseipdb.log" &
	_rig_track_pid $!
	rig_wait_until 10 test -e "$SRV/ready"
}

mode() { echo "$1" >"$SRV/mode"; }

requests() {
	"$RIG_PY" - "$SRV/requests.jsonl" "$1" "${2:-}" <<'PY'
import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        e = json.loads(l)
        if e["method"] == "POST" and e["form"].get("ip") == sys.argv[2] and (not sys.argv[3] or str(e["result"]) == sys.argv[3]):
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
has_requests() { [ "$(requests "$@")" -ge 1 ]; }
