#!/usr/bin/env bash
# Throwaway test PKI for the loopback test servers.
#
#   .servers/certs/ca.pem, ca.key          test CA (CA:TRUE, keyCertSign)
#   .servers/certs/server.pem, server.key  localhost / 127.0.0.1 / ::1, serverAuth
#   .servers/certs/client.pem, client.key  client cert for mutual-TLS tests, clientAuth
#
# rustls/webpki is strict, so every cert is X.509 v3 with explicit extensions:
# it refuses a CA cert used as an end-entity cert, a server cert without
# subjectAltName (the CN is ignored), and v1 certs. Keys are ECDSA P-256.
#
# Files are only (re)generated when missing; delete the directory to start over.
# Usage: scripts/certs.sh [certdir]   (default: <repo>/.servers/certs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-${PCONN_STATE_DIR:-$ROOT/.servers}/certs}"
mkdir -p "$DIR"
cd "$DIR"

log() { printf 'certs: %s\n' "$*" >&2; }

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

# --- CA -------------------------------------------------------------------
# If the CA is (re)made, everything it signed is stale: remove the leaf certs.
if [[ ! -s ca.pem || ! -s ca.key ]]; then
    log "creating test CA in $DIR"
    rm -f server.pem server.key client.pem client.key
    newkey ca.key
    openssl req -new -x509 -key ca.key -sha256 -days 3650 \
        -subj "/O=pconn tests/CN=pconn throwaway test CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.pem
fi

# sign NAME SUBJECT EXTENSIONS: key + CSR, then a v3 cert signed by the CA.
sign() {
    local name=$1 subj=$2 ext=$3
    newkey "$name.key"
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
    printf '%s\n' "$ext" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -sha256 -days 3650 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

if [[ ! -s server.pem || ! -s server.key ]]; then
    log "creating server cert (localhost, 127.0.0.1, ::1)"
    sign server "/O=pconn tests/CN=localhost" "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid"
fi

if [[ ! -s client.pem || ! -s client.key ]]; then
    log "creating client cert"
    sign client "/O=pconn tests/CN=pconn test client" "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid"
fi

# Fail loudly if anything is off rather than letting TLS tests fail obscurely.
for pair in server:sslserver client:sslclient; do
    if ! out=$(openssl verify -CAfile ca.pem -purpose "${pair#*:}" "${pair%%:*}.pem" 2>&1); then
        log "verification failed: $out"
        exit 1
    fi
done
