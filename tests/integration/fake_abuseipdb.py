#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A loopback stand-in for the AbuseIPDB v2 API, for the integration tests.

Usage: fake_abuseipdb.py PORT KEY STATEDIR

It checks what the real API checks (the Key and Accept headers, the form fields of
POST /api/v2/report, the address of GET /api/v2/check), enforces the "same address once in 15
minutes" rule like the real one, and logs every request as one JSON line to
STATEDIR/requests.jsonl. What it answers is read, per request, from STATEDIR/mode:
  success          200 with data.abuseConfidenceScore (default)
  same-ip          429 "You can only report the same IP address ... once in 15 minutes."
  daily            429 daily rate limit, Retry-After: 2, X-RateLimit-Reset
  422              422 with an errors[] JSON
  503              503 Service Unavailable
  hang             no answer until the mode changes; then the connection is closed unanswered
  drop             the connection is closed without an answer
  delay SECONDS    answered as success after SECONDS; logged twice: "delayed" when it arrives,
                   then with its answer
Keys: KEY, and any in STATEDIR/keys (one a line, read per request); each request logs key_n, the
line of its key (0: KEY, 1: the first of STATEDIR/keys).
STATEDIR/ready is written once the socket listens.
"""
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, KEY, DIR = int(sys.argv[1]), sys.argv[2], sys.argv[3]
LOG = os.path.join(DIR, "requests.jsonl")
MODE = os.path.join(DIR, "mode")
lock = threading.Lock()
accepted = {}  # ip -> time of the last accepted report


def mode():
    try:
        with open(MODE) as f:
            return f.read().strip() or "success"
    except FileNotFoundError:
        return "success"


def log(entry):
    with lock, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, detail, param=None, headers=()):
        e = {"detail": detail, "status": status}
        if param:
            e["source"] = {"parameter": param}
        self.reply(status, {"errors": [e]}, headers)

    def common(self, entry):
        keys = [KEY]
        try:
            with open(os.path.join(DIR, "keys")) as f:
                keys += [l.strip() for l in f if l.strip()]
        except FileNotFoundError:
            pass
        k = self.headers.get("Key")
        entry["key_n"] = keys.index(k) if k in keys else None
        entry["key_ok"] = k in keys
        entry["accept"] = self.headers.get("Accept")
        entry["user_agent"] = self.headers.get("User-Agent")
        if not entry["key_ok"]:
            entry["result"] = 401
            log(entry)
            self.error(401, "Authentication failed. Your API key is either missing, incorrect, or revoked.")
            return False
        if entry["accept"] != "application/json":
            entry["result"] = 406
            log(entry)
            self.error(406, "Accept: application/json is required")
            return False
        return True

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        entry = {"method": "GET", "path": u.path, "query": q, "t": time.time()}
        if not self.common(entry):
            return
        if u.path != "/api/v2/check" or "ipAddress" not in q:
            entry["result"] = 404
            log(entry)
            self.error(404, "not found")
            return
        entry["result"] = 200
        log(entry)
        self.reply(200, {"data": {
            "ipAddress": q["ipAddress"], "isPublic": True, "ipVersion": 4, "isWhitelisted": False,
            "abuseConfidenceScore": 87, "countryCode": "ZZ", "usageType": "Data Center/Web Hosting/Transit",
            "isp": "Documentation", "domain": "example.net", "totalReports": 42, "numDistinctUsers": 7,
            "lastReportedAt": "2026-11-24T12:00:00+00:00"}})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        m = mode()
        entry = {"method": "POST", "path": u.path, "form": form, "mode": m, "t": time.time()}
        if not self.common(entry):
            return
        missing = [k for k in ("ip", "categories", "comment", "timestamp") if k not in form]
        if u.path != "/api/v2/report" or missing:
            entry["result"] = 422
            log(entry)
            self.error(422, "missing fields: %s" % ",".join(missing), "ip")
            return
        if m == "hang":
            entry["result"] = "hang"
            log(entry)
            while mode() == "hang":
                time.sleep(0.05)
            self.close_connection = True
            return
        if m.startswith("delay "):
            entry["result"] = "delayed"
            log(dict(entry))
            time.sleep(float(m.split()[1]))
            entry["t_answer"] = time.time()
        if m == "drop":
            entry["result"] = "drop"
            log(entry)
            self.close_connection = True
            return
        if m == "503":
            entry["result"] = 503
            log(entry)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if m == "422":
            entry["result"] = 422
            log(entry)
            self.error(422, "The categories field must contain valid categories.", "categories")
            return
        if m == "daily":
            entry["result"] = "429-daily"
            log(entry)
            self.error(429, "Daily rate limit of 1000 requests exceeded for this endpoint. "
                       "See headers for additional details.",
                       headers=[("Retry-After", "2"), ("X-RateLimit-Limit", "1000"),
                                ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", str(int(time.time()) + 2))])
            return
        ip = form["ip"]
        with lock:
            last = accepted.get(ip)
            same = m == "same-ip" or (last is not None and time.time() - last < 900)
            if not same:
                accepted[ip] = time.time()
        if same:
            entry["result"] = "429-same-ip"
            log(entry)
            self.error(429, "You can only report the same IP address (`%s`) once in 15 minutes." % ip, "ip")
            return
        entry["result"] = "accepted"
        log(entry)
        self.reply(200, {"data": {"ipAddress": ip, "abuseConfidenceScore": 52}})


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
srv.daemon_threads = True
with open(os.path.join(DIR, "ready"), "w") as f:
    f.write(str(os.getpid()))
srv.serve_forever()
