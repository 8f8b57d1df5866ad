#!/usr/bin/env bash
# A tour of the workspace against the loopback test servers (`make demo`
# starts them and exports the PCONN_* variables first).
#
#   scripts/demo.sh              run every section
#   scripts/demo.sh redis http   run only the named sections
#
# Each section is one self-contained block:
#
#   if section NAME "Title"; then
#       ...commands...
#   fi
#
# Append new blocks (redis, http, smtp, proxy, ...) at the end of the file;
# keep them independent of each other so any subset can run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SELECTED=("$@")

# section NAME TITLE: print a header and return 0 if NAME is selected
# (no arguments = everything), else return 1 so the block is skipped.
section() {
    local name=$1 title=$2 s
    if [[ ${#SELECTED[@]} -gt 0 ]]; then
        for s in "${SELECTED[@]}"; do [[ $s == "$name" ]] && break; done
        [[ ${s:-} == "$name" ]] || return 1
    fi
    printf '\n\033[1m=== %s: %s ===\033[0m\n\n' "$name" "$title"
}

# ---------------------------------------------------------------------------
if section transport "pool monitor: connections opened, reused, probed"; then
    cargo run -q -p pconn-transport --example monitor -- --rounds 3 --interval 200 \
        --stats redis=127.0.0.1:6379 nginx=127.0.0.1:8080 smtp=127.0.0.1:2525
fi

# --- further sections (redis, http, smtp, proxy) are appended below --------

# ---------------------------------------------------------------------------
if section proxy "CONNECT tunnels: HTTPS and Redis over TLS through tinyproxy"; then
    : "${PCONN_PROXY_URL:=http://127.0.0.1:3128}"
    : "${PCONN_PROXY_AUTH_URL:=http://pconn:pconn-secret@127.0.0.1:3129}"
    : "${PCONN_PROXY_TLS_URL:=https://localhost:3443}"
    : "${PCONN_TEST_CA:=.servers/certs/ca.pem}"
    echo "# HTTPS GET through the Basic-auth proxy; TLS verifies localhost, not the proxy"
    cargo run -q -p pconn-proxy --example tunnel -- --proxy "$PCONN_PROXY_AUTH_URL" \
        --target localhost:8443 --tls --cacert "$PCONN_TEST_CA" \
        --send 'GET /small HTTP/1.1\r\nHost: localhost:8443\r\nConnection: close\r\n\r\n' --stats
    echo
    echo "# Redis PING over TLS, inside TLS to an https:// proxy (TLS in TLS)"
    cargo run -q -p pconn-proxy --example tunnel -- --proxy "$PCONN_PROXY_TLS_URL" \
        --target localhost:6380 --tls --cacert "$PCONN_TEST_CA" --send 'PING\r\n' --stats
    echo
    echo "# Wrong proxy credentials: a typed error, the password never printed"
    cargo run -q -p pconn-proxy --example tunnel -- \
        --proxy "http://pconn:not-the-password@127.0.0.1:3129" --target localhost:8443 || true
fi

# ---------------------------------------------------------------------------
if section smtp "SMTP: several mails over one STARTTLS + AUTH session, exactly once"; then
    : "${PCONN_SMTP_URL:=smtp://127.0.0.1:2525}"
    : "${PCONN_SMTPS_URL:=smtps://localhost:2465}"
    : "${PCONN_TEST_CA:=.servers/certs/ca.pem}"
    echo "# 5 mails, one connection (opened 1, reused 4); one recipient refused and reported"
    cargo run -q -p pconn-smtp --example send-mail -- --url "$PCONN_SMTP_URL" \
        --cacert "$PCONN_TEST_CA" --user pconn --password pconn-secret \
        --from demo@example.com --to rcpt@example.com --to reject-me@example.com \
        --subject "pconn demo" --body $'hello\n.a line starting with a dot\n.' --count 5 --stats
    echo
    echo "# the same over implicit TLS (smtps)"
    cargo run -q -p pconn-smtp --example send-mail -- --url "$PCONN_SMTPS_URL" \
        --cacert "$PCONN_TEST_CA" --user pconn --password pconn-secret \
        --from demo@example.com --to rcpt@example.com --subject "pconn demo" --body hi --count 3 --stats
    echo
    echo "# header injection through the subject: refused before anything is sent"
    cargo run -q -p pconn-smtp --example send-mail -- --url "$PCONN_SMTP_URL" \
        --cacert "$PCONN_TEST_CA" --from demo@example.com --to rcpt@example.com \
        --subject $'hi\r\nBcc: victim@example.com' --body x || true
fi

# ---------------------------------------------------------------------------
if section http "HTTP keep-alive: 100 requests, connections opened"; then
    : "${PCONN_HTTP_URL:=http://127.0.0.1:8080}"
    : "${PCONN_HTTPS_URL:=https://localhost:8443}"
    : "${PCONN_HTTP_LIMITED_URL:=http://127.0.0.1:8081}"
    : "${PCONN_TEST_CA:=.servers/certs/ca.pem}"
    echo "# one GET, with headers (nginx adds X-Connection: its own connection number)"
    cargo run -q -p pconn-http --example api-client -- -i "$PCONN_HTTP_URL/small"
    echo
    echo "# 100 GETs over HTTPS: the last line counts connections opened (expect 1)"
    cargo run -q -p pconn-http --example api-client -- --cacert "$PCONN_TEST_CA" \
        --repeat 100 --stats "$PCONN_HTTPS_URL/small" | tail -1
    echo
    echo "# 100 GETs against keepalive_requests 3: the server forces 34 connections"
    cargo run -q -p pconn-http --example api-client -- --repeat 100 --stats \
        "$PCONN_HTTP_LIMITED_URL/small" | tail -1
    echo
    echo "# 3 GETs over nginx's Unix socket (curl's --unix-socket; the URL names the Host): opened 1"
    cargo run -q -p pconn-http --example api-client -- --unix-socket "${PCONN_HTTP_UNIX_SOCKET:-.servers/run/nginx-http.sock}" --repeat 3 --stats http://localhost/small | tail -1
    echo
    echo "# the background material's PersistentApiClient: GET, then POST JSON, one connection"
    cargo run -q -p pconn-http --features json --example json-api -- --base "$PCONN_HTTP_URL/echo"
fi

# ---------------------------------------------------------------------------
if section redis "Redis: commands, pipeline, transaction, reset-on-release, reuse stats"; then
    : "${PCONN_REDIS_URL:=redis://127.0.0.1:6379}"
    : "${PCONN_REDIS_TLS_URL:=rediss://localhost:6380}"
    : "${PCONN_TEST_CA:=.servers/certs/ca.pem}"
    echo "# commands, printed like redis-cli"
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_URL" SET demo:greeting "hello"
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_URL" GET demo:greeting
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_URL?protocol=3" HGETALL demo:none
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_URL" INCR demo:greeting || true  # an error reply: exit 1
    echo
    echo "# the same server over its Unix socket (redis-cli --url unix://...)"
    cargo run -q -p pconn-redis --example redis-cli -- \
        --url "${PCONN_REDIS_UNIX_URL:-unix://$PWD/.servers/run/redis.sock}?db=0" GET demo:greeting
    echo
    echo "# 50 INCRs over TLS through the pool: opened 1, reused 49"
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_TLS_URL" \
        --cacert "$PCONN_TEST_CA" --repeat 50 --stats INCR demo:counter | tail -n 2
    echo
    echo "# pipeline, transaction, and a MULTI left open by one borrower, undone for the next"
    cargo run -q -p pconn-redis --example redis-tour -- --url "$PCONN_REDIS_URL"
    cargo run -q -p pconn-redis --example redis-cli -- --url "$PCONN_REDIS_URL" DEL demo:greeting demo:counter
fi

# ---------------------------------------------------------------------------
if section socks "SOCKS5 tunnels through danted: SMTP greeting, HTTPS, and a refused password"; then
    : "${PCONN_SOCKS_URL:=socks5h://127.0.0.1:1080}"
    : "${PCONN_SOCKS_AUTH_URL:=socks5h://pconn-socks:pconn-secret@127.0.0.1:1081}"
    : "${PCONN_TEST_CA:=.servers/certs/ca.pem}"
    echo "# SMTP speaks first: a greeting that arrives with the SOCKS reply is kept (early_bytes in the debug line)"
    RUST_LOG=pconn_proxy=debug cargo run -q -p pconn-proxy --example tunnel -- \
        --proxy "$PCONN_SOCKS_AUTH_URL" --target 127.0.0.1:2525 --send 'QUIT\r\n'
    echo
    echo "# HTTPS through socks5h (danted resolves localhost); TLS verifies localhost, not the proxy"
    cargo run -q -p pconn-proxy --example tunnel -- --proxy "$PCONN_SOCKS_URL" \
        --target localhost:8443 --tls --cacert "$PCONN_TEST_CA" \
        --send 'GET /small HTTP/1.1\r\nHost: localhost:8443\r\nConnection: close\r\n\r\n' --stats
    echo
    echo "# three requests, one kept tunnel (api-client --proxy socks5h://...)"
    cargo run -q -p pconn-http --example api-client -- --proxy "$PCONN_SOCKS_URL" \
        --cacert "$PCONN_TEST_CA" --repeat 3 --stats https://localhost:8443/small
    echo
    echo "# wrong SOCKS password: a typed error, the password never printed"
    cargo run -q -p pconn-proxy --example tunnel -- \
        --proxy "socks5h://pconn-socks:not-the-password@127.0.0.1:1081" --target localhost:8443 || true
fi

# ---------------------------------------------------------------------------
if section cluster "Redis Cluster and Sentinel: routing by slot, redirects, a failover followed"; then
    : "${PCONN_REDIS_CLUSTER_URL:=redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002}"
    : "${PCONN_REDIS_SENTINEL_URL:=redis+sentinel://127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392/pconn-master?sentinel_password=sentinel-secret}"
    cli() { cargo run -q -p pconn-redis --example redis-cli -- "$@"; }
    echo "# the cluster's shape, and keys routed by slot (hash tags keep keys together)"
    redis-cli -p 7000 cluster shards | awk '/^slots$/ { getline a; getline b; printf "slots %s-%s", a, b } /^port$/ { getline p; printf " %s", p } /^role$/ { getline r; printf "(%s)", r } /^health$/ { getline h } END { print "" }' | sed 's/slots/\nslots/g'
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" SET demo:a 1
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" MSET "{demo}:x" 1 "{demo}:y" 2
    echo "# keys in different slots: refused before anything is sent"
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" MSET demo:a 1 demo:b 2 || true
    echo "# DBSIZE over every master"
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" DBSIZE
    echo
    echo "# Sentinel: the master now, then SENTINEL FAILOVER while a client INCRs every 100 ms"
    s_cli() { redis-cli -p 26390 --no-auth-warning -a sentinel-secret "$@"; }
    echo "master: $(s_cli sentinel get-master-addr-by-name pconn-master | paste -sd:)"
    cli --url "$PCONN_REDIS_SENTINEL_URL" --repeat 40 --interval 100 --stats INCR demo:sentinel | tail -n 2 &
    incr=$!
    sleep 1
    s_cli sentinel failover pconn-master
    wait "$incr"
    echo "master: $(s_cli sentinel get-master-addr-by-name pconn-master | paste -sd:) (the client followed). The count is at most 40:"
    echo "# none applied twice; INCRs the old master took after the promotion are lost (asynchronous replication)"
    cli --url "$PCONN_REDIS_SENTINEL_URL" GET demo:sentinel
    cli --url "$PCONN_REDIS_SENTINEL_URL" DEL demo:sentinel
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" DEL demo:a
    cli --cluster --url "$PCONN_REDIS_CLUSTER_URL" DEL "{demo}:x" "{demo}:y"
fi
