#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Daemon benchmark, in the integration rig (private journald, private nf_tables): RSS idle, RSS
# while tracking 100,000 distinct failing addresses (one failure each, maxretry 5), and journal
# entries/s from journald into the daemon. Prints figures; never fails on time.
set -euo pipefail
. "$SRCDIR/tests/integration/lib.sh"
rig_enter "$@"

N=${BENCH_ADDRESSES:-100000}
rig_conf_dir
cat >"$RIG_CONF/jail.d/bench.local" <<'CONF'
[sshd]
enabled = true
maxretry = 5
findtime = 1h
bantime = 1h
CONF
rig_start_daemon
pid=$RIG_DAEMON_PID
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
idle_rss=$(kb VmRSS)
idle_anon=$(kb RssAnon)

python3 - "$N" >"$RIG_TMP/bulk.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    # 2001:db8::/32 only: documentation addresses
    print(f"Failed password for invalid user u{i % 97} from 2001:db8:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}::1 port {1024 + i % 50000} ssh2")
PY

t0=$(date +%s%N)
rig_log_bulk ssh.service sshd "$RIG_TMP/bulk.txt"
t1=$(date +%s%N)
# a sentinel ban through the same journal: when it is in the kernel, every line before it was read
for i in 1 2 3 4 5; do rig_log ssh.service sshd "Failed password for root from 192.0.2.99 port 4000$i ssh2"; done
rig_wait_until 300 rig_nft_has '^192\.0\.2\.99 tcp 22 ' v4_port
t2=$(date +%s%N)
rss=$(kb VmRSS)
hwm=$(kb VmHWM)
anon=$(kb RssAnon)
file=$(kb RssFile)
rig_stop_daemon

printf 'daemon RSS idle (1 jail):              %6d KiB (anonymous %d KiB)\n' "$idle_rss" "$idle_anon"
printf 'daemon RSS tracking %d addresses: %6d KiB (peak %d KiB): anonymous %d KiB, file-backed %d KiB\n' "$N" "$rss" "$hwm" "$anon" "$file"
# file-backed pages are the journal files sd-journal maps: page cache shared with journald, not
# memory the daemon allocated; the anonymous part is the daemon's own
awk -v a="$idle_anon" -v b="$anon" -v n="$N" 'BEGIN { printf "bytes per tracked address (anonymous, tracking - idle): %.1f\n", (b - a) * 1024 / n }'
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
	printf "journald ingest: %d entries in %.2f s (%.0f entries/s)\n", n, (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9)
	printf "journal -> daemon, all %d read and matched %.2f s after the first was sent (%.0f entries/s end to end)\n", n, (t2 - t0) / 1e9, n / ((t2 - t0) / 1e9)
}'
