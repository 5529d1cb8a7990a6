#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Stand-in for nftjaild, used by rig-selftest.sh to test rig_start_daemon,
rig_stop_daemon and rig_kill_daemon without the real daemon.

Takes the daemon's rig arguments, checks the rig's config dir, binds the
control socket, and exits 0 on SIGTERM (or --exit-status N).
"""

import argparse
import configparser
import os
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--foreground", action="store_true", required=True)
    ap.add_argument("--config-dir", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--exit-status", type=int, default=0)
    args = ap.parse_args()

    cp = configparser.ConfigParser()
    cp.read(os.path.join(args.config_dir, "nftjail.local"))
    nft_file = cp.get("Definition", "nft_file")
    if not os.path.isdir(args.state_dir):
        sys.exit("fake-daemon: no state dir %s" % args.state_dir)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(args.socket)
    s.listen(4)
    sys.stderr.write("fake-daemon: started, nft_file=%s\n" % nft_file)
    sys.stderr.flush()

    def term(signum, frame):
        sys.stderr.write("fake-daemon: SIGTERM\n")
        os.unlink(args.socket)
        sys.exit(args.exit_status)

    signal.signal(signal.SIGTERM, term)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
