#!/usr/bin/env python3
"""Independent DKIM check for tests/smtp_dkim.rs: verifies the signature of a
stored message with dkimpy (Debian's python3-dkim), against a test DNS
stand-in that publishes the public key at SELECTOR._domainkey.DOMAIN.

usage: dkim_verify.py MESSAGE_FILE:SELECTOR:DOMAIN:PUBLIC_KEY_PEM ...
prints one line per argument, "pass" or "fail" and the names asked of the
DNS stand-in (one interpreter for many checks: Python starts slowly).
"""
import base64
import sys

import dkim


def verify(path, selector, domain, pub_path):
    pem = open(pub_path).read()
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    # An Ed25519 SubjectPublicKeyInfo is a 12-byte prefix and the raw key;
    # RFC 8463 publishes the raw key. RSA publishes the whole SPKI.
    if len(der) == 44 and der[:12] == bytes.fromhex("302a300506032b6570032100"):
        record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[12:])
    else:
        record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    name = ("%s._domainkey.%s." % (selector, domain)).encode()
    asked = []

    def dnsfunc(qname, timeout=5):
        asked.append(qname.decode())
        return record if qname == name else None

    message = open(path, "rb").read()
    try:
        ok = dkim.verify(message, dnsfunc=dnsfunc)
    except Exception as e:  # a key of the wrong type raises inside dkimpy
        ok = False
        asked.append("(%s)" % type(e).__name__)
    print("pass" if ok else "fail", " ".join(asked))


for arg in sys.argv[1:]:
    verify(*arg.split(":"))
