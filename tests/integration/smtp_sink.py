#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A real SMTP server on loopback for the mail tests (aiosmtpd): every message it accepts is
written to DIR/N.eml, the envelope in DIR/N.env ("from\\nrcpt...\\n"), N counting from 1, the
.eml written first and renamed into place so a reader never sees half a message.
Usage: smtp_sink.py DIR PORT (prints "ready" once listening)."""
import os
import sys
import time

from aiosmtpd.controller import Controller

out, port = sys.argv[1], int(sys.argv[2])
count = 0


class Sink:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        with open(os.path.join(out, f"{count}.env.tmp"), "w") as f:
            f.write(envelope.mail_from + "\n" + "".join(r + "\n" for r in envelope.rcpt_tos))
        os.rename(os.path.join(out, f"{count}.env.tmp"), os.path.join(out, f"{count}.env"))
        with open(os.path.join(out, f"{count}.eml.tmp"), "wb") as f:
            f.write(envelope.original_content)
        os.rename(os.path.join(out, f"{count}.eml.tmp"), os.path.join(out, f"{count}.eml"))
        return "250 OK"


c = Controller(Sink(), hostname="127.0.0.1", port=port)
c.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
