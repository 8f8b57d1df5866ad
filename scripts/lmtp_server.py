#!/usr/bin/env python3
"""LMTP test server (RFC 2033) on aiosmtpd's LMTP class, over TCP and a Unix
socket, for smtp-client's LMTP tests. Started by scripts/servers.d/smtp-extra.sh.

After the data it answers once per accepted recipient, as RFC 2033 asks
(aiosmtpd's LMTP alone answers once per message):
  local part "full-..."   -> 552 5.2.2 mailbox full     (refused after the data)
  local part "later-..."  -> 452 4.2.1 try again later  (refused after the data)
  local part "reject-..." -> 550 5.1.1 at RCPT time
  anything else           -> 250, and the message is stored for that recipient

Each stored delivery is MAILDIR/ID.eml (the exact bytes received, dot-stuffing
undone) and MAILDIR/ID.json ({"id", "mail_from", "rcpt_to", "transport",
"size"}), written under a temp name and renamed.

usage: lmtp_server.py --maildir DIR --port 2424 --socket PATH [--pidfile FILE]
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import time

from aiosmtpd.lmtp import LMTP

_counter = itertools.count()


class Handler:
    def __init__(self, maildir, transport):
        self.maildir = maildir
        self.transport = transport

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@", 1)[0].lower().startswith("reject"):
            return "550 5.1.1 rejected"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        replies = []
        for rcpt in envelope.rcpt_tos:
            local = rcpt.split("@", 1)[0].lower()
            if local.startswith("full"):
                replies.append("552 5.2.2 <%s> mailbox full" % rcpt)
                continue
            if local.startswith("later"):
                replies.append("452 4.2.1 <%s> try again later" % rcpt)
                continue
            mid = "%d-%d-%06d" % (time.time_ns(), os.getpid(), next(_counter))
            meta = {
                "id": mid,
                "mail_from": envelope.mail_from,
                "rcpt_to": rcpt,
                "transport": self.transport,
                "size": len(envelope.original_content),
            }
            self._write(mid + ".json", json.dumps(meta, indent=1).encode() + b"\n")
            self._write(mid + ".eml", envelope.original_content)
            replies.append("250 2.0.0 <%s> delivered as %s" % (rcpt, mid))
        # One reply per accepted recipient, in RCPT order; push() adds the last CRLF.
        return "\r\n".join(replies)

    def _write(self, name, data):
        tmp = os.path.join(self.maildir, ".tmp-" + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.maildir, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--port", type=int, default=2424)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--pidfile")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    os.makedirs(args.maildir, exist_ok=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    common = dict(decode_data=False, enable_SMTPUTF8=True, hostname="lmtp.localhost",
                  data_size_limit=32 << 20, timeout=300, loop=loop)

    def factory(transport):
        return lambda: LMTP(Handler(args.maildir, transport), **common)

    if os.path.exists(args.socket):
        os.unlink(args.socket)
    servers = [
        loop.run_until_complete(
            loop.create_server(factory("tcp"), "127.0.0.1", args.port, reuse_address=True)
        ),
        loop.run_until_complete(loop.create_unix_server(factory("unix"), args.socket)),
    ]
    os.chmod(args.socket, 0o666)
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    logging.info("LMTP on 127.0.0.1:%d and %s, maildir %s", args.port, args.socket, args.maildir)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        for s in servers:
            s.close()


if __name__ == "__main__":
    main()
