#!/usr/bin/python3
"""Test SMTP server for the integration tests (aiosmtpd, Debian's python3).

Two listeners in one process:
  * 127.0.0.1:2525  plain SMTP, STARTTLS offered; AUTH PLAIN/LOGIN only after STARTTLS
  * 127.0.0.1:2465  implicit TLS ("smtps"); AUTH PLAIN/LOGIN offered right away

Behaviour the tests rely on:
  * credentials: user "pconn", password "pconn-secret"; AUTH is optional
    (unauthenticated mail is accepted too, the sidecar records which it was)
  * SIZE 1048576 is advertised and a larger message is refused (552)
  * 8BITMIME and SMTPUTF8 are advertised
  * RCPT to a local part starting with "reject" gets "550 5.1.1 rejected"
  * every accepted message is stored in the mail dir as <id>.eml holding the
    DATA exactly as received (after dot-unstuffing, CRLF kept), with a sidecar
    <id>.json: {"mail_from", "rcpt_tos", "mail_options", "rcpt_options",
    "auth_user", "tls", "port"}. Both are written to a temp name and renamed,
    so a test that sees <id>.eml also sees the complete sidecar and body.

Usage: smtp_server.py --cert server.pem --key server.key --maildir DIR
                      [--pidfile FILE] [--host 127.0.0.1 ...] [--port 2525] [--tls-port 2465]
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER = b"pconn"
PASSWORD = b"pconn-secret"
DATA_SIZE_LIMIT = 1024 * 1024

_counter = itertools.count()


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER
        and auth_data.password == PASSWORD
    )
    if not ok:
        # handled=False: aiosmtpd sends "535 5.7.8" itself (handled=True
        # would send nothing and leave the client waiting).
        return AuthResult(success=False, handled=False)
    # auth_data ends up in session.auth_data, recorded in the sidecar.
    return AuthResult(success=True, auth_data=auth_data)


class Handler:
    def __init__(self, maildir, port, implicit_tls):
        self.maildir = maildir
        self.port = port
        self.implicit_tls = implicit_tls

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.lower().startswith("reject"):
            return "550 5.1.1 rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        # Unique and sortable by arrival: nanosecond time, pid, counter.
        mid = "%d-%d-%06d" % (time.time_ns(), os.getpid(), next(_counter))
        auth = session.auth_data
        meta = {
            "id": mid,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "auth_user": auth.login.decode("utf-8", "replace")
            if isinstance(auth, LoginPassword)
            else None,
            "tls": self.implicit_tls or session.ssl is not None,
            "port": self.port,
            "size": len(envelope.original_content),
        }
        self._write(mid + ".json", json.dumps(meta, indent=1).encode() + b"\n")
        # original_content is bytes (decode_data=False): no re-encoding.
        self._write(mid + ".eml", envelope.original_content)
        return "250 2.0.0 OK queued as " + mid

    def _write(self, name, data):
        tmp = os.path.join(self.maildir, ".tmp-" + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.maildir, name))


class ImplicitTLSSMTP(SMTP):
    """aiosmtpd only counts STARTTLS as "TLS" for auth_require_tls; on the
    implicit-TLS port the whole connection is already encrypted, so AUTH
    may be offered without it (we create this class with auth_require_tls=False)."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--host", action="append", help="repeatable; default 127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--tls-port", type=int, default=2465)
    args = ap.parse_args()
    hosts = args.host or ["127.0.0.1"]

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    os.makedirs(args.maildir, exist_ok=True)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)

    common = dict(
        data_size_limit=DATA_SIZE_LIMIT,
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname="localhost",
        authenticator=authenticator,
        auth_required=False,
        timeout=300,
    )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def starttls_factory():
        return SMTP(
            Handler(args.maildir, args.port, False),
            tls_context=ctx,
            require_starttls=False,
            auth_require_tls=True,
            loop=loop,
            **common,
        )

    def implicit_factory():
        return ImplicitTLSSMTP(
            Handler(args.maildir, args.tls_port, True),
            tls_context=None,  # already TLS: no STARTTLS offered
            auth_require_tls=False,
            loop=loop,
            **common,
        )

    servers = [
        loop.run_until_complete(
            loop.create_server(starttls_factory, hosts, args.port, reuse_address=True)
        ),
        loop.run_until_complete(
            loop.create_server(
                implicit_factory, hosts, args.tls_port, ssl=ctx, reuse_address=True
            )
        ),
    ]
    # Write the pid file only once both ports are bound, so the starter can
    # treat "pid file exists" as "listening".
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    logging.info(
        "listening on %s port %d (STARTTLS) and %d (implicit TLS), maildir %s",
        hosts, args.port, args.tls_port, args.maildir,
    )

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        for s in servers:
            s.close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    main()
