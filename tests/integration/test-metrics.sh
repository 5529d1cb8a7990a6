#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Metrics (issue 15): `nftjail metrics` prints the Prometheus text format, and metrics_textfile
# gets the same text, written atomically with mode 0644, which the real prometheus-node-exporter
# (textfile collector, on loopback in the rig's network namespace) reads without a scrape error.
# The figures follow what happened: two bans and a manual unban in jail sshd, their elements per
# family, the ban latency histogram's count; no address appears anywhere in it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"
NE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[ -n "$NE" ] || skip "prometheus-node-exporter is not installed"

dir=$RIG_TMP/textfile
mkdir -p "$dir"
rig_conf_dir
printf '[Definition]\nnft_file = %s\nmetrics_textfile = %s/nftjail.prom\n' "$RIG_NFT_FILE" "$dir" >"$RIG_CONF/nftjail.local"
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 2
bantime = 1h
CONF
rig_nft_load
rig_start_daemon
for a in 192.0.2.21 2001:db8:5::21; do
	for i in 1 2; do rig_log ssh.service sshd "Failed password for root from $a port 4000$i ssh2"; done
done
rig_wait_until 10 rig_nft_has '^192\.0\.2\.21 tcp 22 ' v4_port
rig_wait_until 10 rig_nft_has '^2001:db8:5::/64 tcp 22 ' v6_port
rig_ctl unban 192.0.2.21 >/dev/null || fail "unban failed"

# metric{labels} value, from text on stdin
value() { "$RIG_PY" -c '
import sys
want = sys.argv[1]
for line in sys.stdin:
    if line.startswith(want + " "):
        print(line.split()[-1]); break' "$1"; }

out=$("$NFTJAIL" --socket "$RIG_SOCK" metrics) || fail "nftjail metrics failed"
[ "$(value 'nftjail_bans_total{jail="sshd"}' <<<"$out")" = 2 ] || fail "bans_total is not 2: $out"
[ "$(value 'nftjail_unbans_total{jail="sshd"}' <<<"$out")" = 1 ] || fail "unbans_total is not 1: $out"
[ "$(value 'nftjail_failures_total{jail="sshd"}' <<<"$out")" = 4 ] || fail "failures_total is not 4: $out"
[ "$(value 'nftjail_kernel_elements{jail="sshd",family="ipv4"}' <<<"$out")" = 0 ] || fail "ipv4 elements: $out"
[ "$(value 'nftjail_kernel_elements{jail="sshd",family="ipv6"}' <<<"$out")" = 1 ] || fail "ipv6 elements: $out"
[ "$(value 'nftjail_ban_latency_seconds_count' <<<"$out")" = 2 ] || fail "latency count is not 2: $out"
[ "$(value 'nftjail_ban_latency_seconds_bucket{le="+Inf"}' <<<"$out")" = 2 ] || fail "latency +Inf bucket: $out"
grep -qE '192\.0\.2|2001:db8' <<<"$out" && fail "an address in the metrics: $out"

# the file: written at start and every 15 s, so it has caught up within one interval
prom=$dir/nftjail.prom
rig_wait_until 30 bash -c "grep -qx 'nftjail_unbans_total{jail=\"sshd\"} 1' '$prom'"
[ "$(stat -c %a "$prom")" = 644 ] || fail "the textfile's mode is $(stat -c %a "$prom"), want 644"
ls -A "$dir" | grep -qv '^nftjail\.prom$' && fail "left over in the textfile directory: $(ls -A "$dir")"

# the real collector reads it
"$NE" --collector.disable-defaults --collector.textfile --collector.textfile.directory="$dir" \
	--web.listen-address=127.0.0.1:19109 >"$RIG_TMP/ne.log" 2>&1 &
_rig_track_pid "$!"
scrape() { "$RIG_PY" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:19109/metrics", timeout=2).read().decode())'; }
rig_wait_until 20 scrape >/dev/null
got=$(scrape)
[ "$(value 'node_textfile_scrape_error' <<<"$got")" = 0 ] || fail "node_exporter: scrape error: $(grep textfile <<<"$got")"
[ "$(value 'nftjail_bans_total{jail="sshd"}' <<<"$got")" = 2 ] || fail "node_exporter does not serve nftjail_bans_total: $(grep nftjail <<<"$got" | head)"
[ "$(value 'nftjail_ban_latency_seconds_count' <<<"$got")" = 2 ] || fail "node_exporter: latency histogram"

# a bad path is an error with file:line; none at all turns the file off
printf '[Definition]\nnft_file = %s\nmetrics_textfile = relative/nftjail.prom\n' "$RIG_NFT_FILE" >"$RIG_CONF/nftjail.local"
out=$("$NFTJAIL" test-config --config-dir "$RIG_CONF" 2>&1 >/dev/null) && fail "test-config took a relative metrics_textfile"
grep -q "nftjail.local:3: error: 'metrics_textfile': 'relative/nftjail.prom' is not an absolute path" <<<"$out" ||
	fail "no error for a relative metrics_textfile: $out"
rig_stop_daemon
echo ok
