#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The system test (issue 15): Debian 12 booted with systemd-nspawn -b in a network namespace made
# here, nftjail installed into it (meson fallback until the .deb test lands), attacked over a veth
# from an attacker namespace with a real OpenSSH client. Run as root: tests/system/run.sh [BUILDDIR]
# WORK IN PROGRESS: boot and the wrong-password check only; the other checks of issue 15 to come.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); src=$(cd "$here/../.." && pwd); build=${1:-$src/build-system}
fails=0
check() { if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails+1)); fi; }
cache=$("$here/build-root.sh")
# the unit runs /usr/sbin/nftjaild: a build of its own with the paths the package uses, not /usr/local
[ -d "$build/meson-private" ] || meson setup "$build" "$src" --prefix=/usr --sysconfdir=/etc --localstatedir=/var -Dbuildtype=debugoptimized >/dev/null
meson compile -C "$build" >/dev/null
run=$(mktemp -d /var/tmp/nftjail-system.XXXXXX); srv=njsrv$$; att=njatt$$; leader=; nspawn=
cleanup() {
        [ -n "$nspawn" ] && kill "$nspawn" 2>/dev/null && wait "$nspawn" 2>/dev/null || true
        ip netns del "$srv" 2>/dev/null || true; ip netns del "$att" 2>/dev/null || true
        rm -rf "$run"
}
trap cleanup EXIT
root=$run/root
cp -a --reflink=auto "$cache" "$root"          # the cache stays pristine
DESTDIR=$root meson install -C "$build" --quiet --no-rebuild
ln -sf /lib/systemd/system/nftjaild.service "$root/etc/systemd/system/multi-user.target.wants/nftjaild.service"
chroot "$root" sh -c 'useradd -m -s /bin/bash alice && echo alice:correct-horse | chpasswd'
ip netns add "$srv"; ip netns add "$att"
ip -n "$srv" link add veth0 type veth peer name veth1 netns "$att"
ip -n "$srv" addr add 203.0.113.1/24 dev veth0; ip -n "$srv" addr add 2001:db8:1::1/48 dev veth0 nodad
ip -n "$att" addr add 203.0.113.10/24 dev veth1; ip -n "$att" addr add 203.0.113.30/24 dev veth1
ip -n "$att" addr add 2001:db8:1:a::10/48 dev veth1 nodad; ip -n "$att" addr add 2001:db8:1:b::10/48 dev veth1 nodad
for n in "$srv" "$att"; do ip -n "$n" link set lo up; done
ip -n "$srv" link set veth0 up; ip -n "$att" link set veth1 up
systemd-nspawn -q -b -D "$root" --register=no --keep-unit --network-namespace-path=/run/netns/$srv \
        --capability=CAP_NET_ADMIN >"$run/console" 2>&1 & nspawn=$!
inside() { nsenter -t "$leader" -a -- "$@"; }
for _ in $(seq 100); do leader=$(pgrep -P "$nspawn" -x systemd || true); [ -n "$leader" ] && break; sleep 0.2; done
for _ in $(seq 150); do inside systemctl is-active -q nftjaild ssh 2>/dev/null && break; sleep 0.2; done
sleep 2  # is-active alone passes between two auto-restarts of a failing unit
check "container booted, ssh and nftjaild active" sh -c "nsenter -t $leader -a systemctl is-active -q nftjaild ssh && [ \"\$(nsenter -t $leader -a systemctl show -P NRestarts nftjaild)\" = 0 ]"
for i in 1 2 3 4 5; do
        ip netns exec "$att" sshpass -p wrong ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                -o PreferredAuthentications=password -o ConnectTimeout=3 -b 203.0.113.10 alice@203.0.113.1 true 2>/dev/null || true
done
sleep 1
check "5 wrong passwords for alice: 203.0.113.10 banned" sh -c "nsenter -t $leader -a nft list table inet nftjail | grep -q 203.0.113.10"
check "legitimate login from 203.0.113.30 works" ip netns exec "$att" sshpass -p correct-horse ssh -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 -b 203.0.113.30 alice@203.0.113.1 true
echo "system: $fails failed"; [ "$fails" -eq 0 ]
