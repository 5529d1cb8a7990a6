#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A loopback webhook receiver for the integration tests.

Usage: fake_webhook.py PORT STATEDIR [CERT.pem KEY.pem]

With a certificate and key it speaks https (the tests use a self-signed one, which the daemon
must refuse: nothing is logged then, as no request gets through).

Logs every request as one JSON line to STATEDIR/requests.jsonl: method, path, the headers that
matter (lower-case names), the raw body (text) and, for a JSON body, its parsed form, and the
status it answered. What it answers is read, per request, from STATEDIR/mode:
  200 (default), 404, 500, ...   that status, a small body
  302                            a redirect to /redirected on this server (a client that follows
                                 it shows up as a request to /redirected)
STATEDIR/ready is written once the socket listens.
"""
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
LOG = os.path.join(DIR, "requests.jsonl")
MODE = os.path.join(DIR, "mode")
lock = threading.Lock()


def mode():
    try:
        with open(MODE) as f:
            return f.read().strip() or "200"
    except FileNotFoundError:
        return "200"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
        m = mode()
        status = int(m) if m.isdigit() else 200
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": raw,
            "status": status,
        }
        try:
            entry["json"] = json.loads(raw)
        except ValueError:
            entry["json"] = None
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")
        body = b"x" * 100 if status != 302 else b""
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:%d/redirected" % PORT)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = handle_any
    do_GET = handle_any


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
srv.daemon_threads = True
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(os.path.join(DIR, "ready"), "w").close()
srv.serve_forever()
