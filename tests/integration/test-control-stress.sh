#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control socket under load and abuse: 1,000 concurrent clients, garbage, an oversized length,
# a bad version, wrong types, a client that sends half a frame and stalls, a client that never
# reads its reply, idle connections beyond the per-uid limit; meanwhile a journal-driven ban still
# happens, status still answers, and the daemon stays alive.
# shellcheck disable=SC1091,SC2015,SC2034
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rig_enter "$@"

rig_conf_dir
cat >"$RIG_CONF/jail.d/test.local" <<'CONF'
[sshd]
enabled = true
maxretry = 3
findtime = 10m
bantime = 1h
CONF
rig_start_daemon

# Stallers first, as uid 65534 (socket_group = nogroup lets it connect), held open in the
# background: half a header, a header announcing more than it sends, and idle connections beyond
# the per-uid limit (32): those are refused with an error reply. The half frame is dropped after
# the read timeout.
grp=$(getent group 65534 | cut -d: -f1)
printf '[Definition]\nnft_file = %s\nsocket_group = %s\n' "$RIG_NFT_FILE" "$grp" >"$RIG_CONF/nftjail.local"
rig_ctl reload >/dev/null
setpriv --reuid 65534 --regid 65534 --clear-groups -- "$RIG_PY" - "$RIG_SOCK" >"$RIG_TMP/stall.log" 2>&1 <<'PY' &
import json, socket, struct, sys, time
path = sys.argv[1]
held = []
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
half = conn(); half.sendall(b"\x00\x00")                                  # half a header
body = conn(); body.sendall(struct.pack(">I", 100) + b'{"version":1')       # half a body
for i in range(60):
    held.append(conn())
print("held", flush=True)
# the last one is beyond the per-uid limit: the daemon said so and closed it
last = held[-1]
last.settimeout(15)
buf = b""
while True:
    d = last.recv(4096)
    if not d:
        break
    buf += d
print("refused:", json.loads(buf[4:])["error"], flush=True)
half.settimeout(30)
print("half frame:", "dropped" if half.recv(10) == b"" else "answered", flush=True)
time.sleep(60)
PY
stall_pid=$!
_rig_track_pid "$stall_pid"
rig_wait_until 20 grep -q '^refused: too many connections, try again$' "$RIG_TMP/stall.log"

# While they are held, the daemon answers: 1,000 concurrent clients (root) each get a reply (ok,
# or "too many connections" beyond 256 at once), never a hang; malformed requests get one error
# line each.
"$RIG_PY" - "$RIG_SOCK" <<'PY' || fail "malformed requests"
import json, socket, struct, sys, threading
path = sys.argv[1]

def call(payload, raw=False, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(payload if raw else struct.pack(">I", len(payload)) + payload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    n = struct.unpack(">I", buf[:4])[0]
    assert len(buf) == 4 + n, (len(buf), n)
    return json.loads(buf[4:])

def err(payload, raw=False):
    r = call(payload, raw)
    assert r["version"] == 1 and r["ok"] is False and "\n" not in r["error"], r
    return r["error"]

assert call(b'{"version":1,"command":"ping"}') == {"version": 1, "ok": True, "pong": True}
e = err(b"GET / HTTP/1.0\r\n\r\n", raw=True)
assert e == "bad request: longer than 65536 bytes", e
e = err(struct.pack(">I", 0xFFFFFFFF) + b"x", raw=True)
assert e == "bad request: longer than 65536 bytes", e
e = err(struct.pack(">I", 65537) + b"{" * 100, raw=True)
assert e == "bad request: longer than 65536 bytes", e
e = err(struct.pack(">I", 0), raw=True)
assert e == "bad request: empty frame", e
e = err(b"not json")
assert e.startswith("bad request: bad JSON"), e
e = err(b"[1,2,3]")
assert e == "bad request: the message is not a JSON object", e
e = err(b'{"command":"ping"}')
assert e == 'bad request: "version" is missing or not an integer', e
e = err(b'{"version":2,"command":"ping"}')
assert e == "bad request: protocol version 2 is not supported (this side speaks 1)", e
e = err(b'{"version":"1","command":"ping"}')
assert e == 'bad request: "version" is missing or not an integer', e
e = err(b'{"version":1,"command":"frobnicate"}')
assert e == "bad request: unknown command 'frobnicate'", e
e = err(b'{"version":1,"command":7}')
assert e == 'bad request: "command" is missing or not a string', e
e = err(b'{"version":1,"command":"ban","jail":"sshd","addr":7}')
assert e == 'bad request: ban: "addr" must be a string', e
e = err(b'{"version":1,"command":"ban","jail":"sshd","addr":"192.0.2.7","bantime":"1h"}')
assert e == 'bad request: ban: "bantime" must be an integer', e
e = err(b'{"version":1,"command":"ban","jail":"sshd"}')
assert e == 'bad request: ban: "addr" is missing', e
e = err(b'{"version":1,"command":"ban","jail":"sshd","addr":"192.0.2.7\\u0000x"}')
assert e.startswith("bad request: bad JSON") and "JSON_ALLOW_NUL" in e, e
e = err(b'{"version":1,"command":"ping","ping":1}')
assert e == "bad request: ping: unknown argument 'ping'", e
e = err(b'{"version":1,"version":1,"command":"ping"}')
assert e.startswith("bad request: bad JSON"), e
e = err(b'{"version":1,"command":"unban"}')
assert e == 'bad request: unban: give either "addr" or "all": true', e
e = err(b'{"version":1,"command":"status","jail":"' + b"x" * 200 + b'"}')
assert e.startswith('bad request: status: "jail" must be 1 to 127'), e
e = err(b'{"version":1,"command":"ban","jail":"sshd","addr":"not-an-ip"}')
assert e == "'not-an-ip' is not an IP address", e
e = err(b'[' * 30000 + b']' * 30000)
assert e.startswith("bad request: bad JSON"), e
# a client that sends a request and never reads: the daemon is not stuck writing to it
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
req = b'{"version":1,"command":"banned"}'
s.sendall(struct.pack(">I", len(req)) + req)
held = s

results = {"ok": 0, "busy": 0}
lock = threading.Lock()
failures = []
def client():
    try:
        r = call(b'{"version":1,"command":"ping"}', timeout=60)
        with lock:
            if r.get("ok") is True:
                results["ok"] += 1
            elif r.get("error") == "too many connections, try again":
                results["busy"] += 1
            else:
                failures.append(r)
    except Exception as ex:
        with lock:
            failures.append(repr(ex))
threads = [threading.Thread(target=client) for _ in range(1000)]
for t in threads:
    t.start()
for t in threads:
    t.join(90)
assert not any(t.is_alive() for t in threads), "clients still waiting"
assert not failures, failures[:5]
assert results["ok"] + results["busy"] == 1000, results
assert results["ok"] > 0, results
print("1000 clients:", results)
PY

# bans go on: a journal-driven ban happens while the stallers are held
for i in 1 2 3; do rig_log ssh.service sshd "Failed password for root from 192.0.2.77 port 40022 ssh2"; done
rig_wait_until 10 rig_nft_has '^192.0.2.77 tcp 22 ' v4_port
rig_ctl status sshd --json | "$RIG_PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d["jail"]["bans_total"] == 1 and [b["addr"] for b in d["jail"]["banned"]] == ["192.0.2.77"], d'
# the half frame is dropped after the read timeout (5 s)
rig_wait_until 30 grep -q '^half frame: dropped$' "$RIG_TMP/stall.log"
kill "$stall_pid" 2>/dev/null || true
wait "$stall_pid" 2>/dev/null || true
[ "$(rig_ctl ping)" = pong ] || fail "ping after the storm"
rig_daemon_alive || fail "the daemon died"
rig_stop_daemon
echo ok
