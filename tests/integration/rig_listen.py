#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP listeners for the integration rig.

usage: rig_listen.py --ready FILE PORT...

Listens on every address, IPv4 and IPv6 (one dual-stack socket per port),
accepts connections and closes them at once. Creates FILE once all ports
listen. Runs until killed.
"""

import argparse
import selectors
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready", required=True)
    ap.add_argument("ports", nargs="+", type=int)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    for port in args.ports:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    with open(args.ready, "w") as f:
        f.write("ready\n")
    while True:
        for key, _ in sel.select():
            try:
                c, _ = key.fileobj.accept()
                c.close()
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
