# SPDX-License-Identifier: GPL-2.0-or-later
# Driver of cmp-latency.sh, run inside the rig with a ban daemon (nftjail or fail2ban) already
# started: writes sshd failures to the private journal (native protocol, as sshd in
# system.slice/ssh.service with _COMM=sshd) or to a log file, and reads the kernel's own
# notification of each new set element from nft-watch (NFNLGRP_NFTABLES). Both sides take
# CLOCK_REALTIME: the writer just before it writes the failure that reaches maxretry, nft-watch
# just after it reads the notification. Prints one JSON object.
#
# Phases:
#   lat    N attackers in groups of G; within a group each attacker sends its maxretry failures
#          STEP ms apart, the attackers interleaved (one write every STEP/G ms); the next group
#          starts when the group's bans are in the kernel. Latency: maxretry-th failure written
#          -> element in the kernel. Reports p50, p99, max.
#   burst  N attackers send maxretry-1 failures each (interleaved, unpaced), then after SETTLE
#          seconds each sends its last failure, all back to back: time from the first of those
#          writes until all N elements are in the kernel.
#   rate   N failures from N distinct addresses (one each, below maxretry) as fast as the
#          socket takes them, then maxretry failures of a sentinel: entries/s from the first
#          write to the sentinel's ban in the kernel.
#   cold   N attackers, one at a time, each after IDLE seconds of silence (the reader is cold):
#          latency as in lat.
import argparse, ipaddress, json, os, select, socket, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--watch", required=True)
p.add_argument("--phase", choices=["lat", "burst", "rate", "cold"], required=True)
p.add_argument("--source", choices=["journal", "file"], required=True)
p.add_argument("--log", default="/var/log/auth.log")
p.add_argument("--cgroup", help="join this cgroup (system.slice/ssh.service) before writing")
p.add_argument("-n", type=int, default=1000)
p.add_argument("--group", type=int, default=5)
p.add_argument("--maxretry", type=int, default=5)
p.add_argument("--step", type=float, default=2.0, help="ms between one attacker's failures")
p.add_argument("--settle", type=float, default=1.0)
p.add_argument("--idle", type=float, default=11.0)
p.add_argument("--timeout", type=float, default=30.0)
a = p.parse_args()

if a.cgroup:
    with open(os.path.join(a.cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
# journald takes _COMM from /proc/PID/comm: we are "sshd" (the stock sshd journalmatch)
with open("/proc/self/comm", "w") as f:
    f.write("sshd")

now = lambda: time.clock_gettime_ns(time.CLOCK_REALTIME)

V4 = [f"{net}.{h}" for net in ("198.51.100", "203.0.113", "192.0.2") for h in range(2, 255)]


def addr(i):
    """Attacker i: 3 in 10 IPv6 (a /64 each), the others IPv4 documentation addresses."""
    if i % 10 in (3, 6, 9):
        return f"2001:db8:1:{i:x}::7"
    v6_before = i // 10 * 3 + sum(1 for k in (3, 6, 9) if k < i % 10)
    return V4[(i - v6_before) % len(V4)]


def key(s):
    ip = ipaddress.ip_address(s)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{s}/64", strict=False).network_address)
    return s


class Writer:
    def __init__(self):
        self.pid = 2000
        if a.source == "journal":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.connect("/run/systemd/journal/socket")
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        else:
            self.fd = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def fail(self, ip, port):
        self.pid += 1
        msg = f"Failed password for root from {ip} port {port} ssh2"
        if a.source == "journal":
            self.sock.send(b"MESSAGE=%s\nSYSLOG_IDENTIFIER=sshd\nSYSLOG_PID=%d\nPRIORITY=6\nSYSLOG_FACILITY=10\n"
                           % (msg.encode(), self.pid))
        else:
            os.write(self.fd, (time.strftime("%b %e %H:%M:%S") + f" bastion sshd[{self.pid}]: {msg}\n").encode())


class Watch:
    def __init__(self):
        self.p = subprocess.Popen([a.watch], stdout=subprocess.PIPE, bufsize=0)
        self.buf = b""
        self.seen = {}
        self.deleted = {}
        if self.p.stdout.readline().strip() != b"ready":
            sys.exit("nft-watch did not start")

    def poll(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return
        chunk = os.read(self.p.stdout.fileno(), 1 << 20)
        if not chunk:
            sys.exit("nft-watch exited (notifications lost?)")
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for l in lines:
            ns, _table, _set, ip, *deleted = l.decode().split()
            (self.deleted if deleted else self.seen).setdefault(key(ip), int(ns))

    def wait(self, keys, timeout):
        end = time.monotonic() + timeout
        while any(k not in self.seen for k in keys):
            left = end - time.monotonic()
            if left <= 0:
                missing = [k for k in keys if k not in self.seen]
                sys.exit(f"{len(missing)} bans not in the kernel after {timeout} s, e.g. {missing[:3]}; "
                         f"deleted: {[k for k in missing if k in self.deleted]}")
            self.poll(min(left, 0.5))

    def stop(self):
        self.p.terminate()
        self.p.wait()


def pause_until(t_ns):
    d = (t_ns - now()) / 1e9
    if d > 0:
        time.sleep(d)


def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


w = Writer()
watch = Watch()
out = {"phase": a.phase, "source": a.source, "n": a.n}
if a.phase in ("lat", "cold"):
    lat = []
    g = 1 if a.phase == "cold" else a.group
    for start in range(0, a.n, g):
        if a.phase == "cold":
            time.sleep(a.idle)
        group = [addr(i) for i in range(start, min(start + g, a.n))]
        sent = {}
        t = now()
        slot = int(a.step * 1e6 / len(group))
        for r in range(a.maxretry):
            for ip in group:
                pause_until(t)
                ts = now()
                w.fail(ip, 40000 + r)
                if r == a.maxretry - 1:
                    sent[key(ip)] = ts
                t += slot
        watch.wait(list(sent), a.timeout)
        lat += [((watch.seen[k] - ts) / 1e6, start) for k, ts in sent.items()]
    v = [l for l, _ in lat]
    out.update(p50=q(v, 0.5), p90=q(v, 0.9), p99=q(v, 0.99), max=max(v), min=min(v),
               worst=[(round(l, 2), g) for l, g in sorted(lat)[-12:]])
elif a.phase == "burst":
    ips = [addr(i) for i in range(a.n)]
    for r in range(a.maxretry - 1):
        for ip in ips:
            w.fail(ip, 40000 + r)
    time.sleep(a.settle)
    watch.poll(0)
    if watch.seen:
        sys.exit(f"{len(watch.seen)} bans before the burst: maxretry is not {a.maxretry}?")
    t0 = now()
    for ip in ips:
        w.fail(ip, 50000)
    t1 = now()
    keys = [key(ip) for ip in ips]
    watch.wait(keys, a.timeout)
    out.update(ms=(max(watch.seen[k] for k in keys) - t0) / 1e6, write_ms=(t1 - t0) / 1e6)
elif a.phase == "rate":
    t0 = now()
    for i in range(a.n):
        w.fail(f"2001:db8:2:{i >> 16:x}:{i & 0xffff:x}::1", 1024 + i % 50000)
    for r in range(a.maxretry):
        w.fail("192.0.2.99", 60000 + r)
    t1 = now()
    watch.wait(["192.0.2.99"], a.timeout)
    n = a.n + a.maxretry
    out.update(entries_per_s=n / ((watch.seen["192.0.2.99"] - t0) / 1e9), write_per_s=n / ((t1 - t0) / 1e9))
watch.stop()
print(json.dumps(out))
