#!/usr/bin/env bash
# Real test servers on loopback for the integration tests.
#
#   scripts/servers.sh start    install what is missing, make certs, start/repair servers
#   scripts/servers.sh stop     stop the servers this script started
#   scripts/servers.sh status   one line per service (stderr)
#   scripts/servers.sh env      print the `export PCONN_...=...` lines (only output on stdout)
#
# Every daemon runs directly (no systemd, no service units) with config, pid
# file and log under the state dir .servers/ at the repo root. `start` is
# idempotent: a service whose pid is alive, whose ports answer and whose
# config (and certs) did not change is left alone; anything else is
# (re)started. Progress goes to stderr so that stdout stays machine-readable.
#
# Endpoints (all loopback; ::1 too where the service supports it):
#   nginx       8080 http, 8443 https, 8081 http with keepalive_requests 3 /
#               keepalive_timeout 1s, 8444 https requiring a client cert,
#               3443 TLS-terminating front for the proxy on 3128 (stream module)
#   redis       6379 plain + 6380 TLS, same process, ACL users pconn-a/-b/-ro
#   smtp        2525 STARTTLS, 2465 implicit TLS (scripts/smtp_server.py, aiosmtpd)
#   tinyproxy   3128 open, 3129 Basic auth pconn:pconn-secret
#   unix        redis on .servers/run/redis.sock, nginx (as 8080) on
#               .servers/run/nginx-http.sock
#
# More services live in scripts/servers.d/*.sh, one file per service group.
# Each file is sourced after the helpers below are defined and registers
# itself in these arrays (see scripts/servers.d/README.md):
#   PACKAGE_HOOKS  functions called inside ensure_packages (they may call `need`)
#   START_HOOKS    functions called at the end of `start`
#   SERVICES       "name comm" entries whose $RUN/name.pid `stop`/`status` manage
#   ENV_HOOKS      functions called at the end of `env` (they call `emit`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PCONN_STATE_DIR lets several checkouts share one set of running servers.
STATE="${PCONN_STATE_DIR:-$ROOT/.servers}"
CERTS="$STATE/certs"
CONF="$STATE/conf"
RUN="$STATE/run"
LOGS="$STATE/logs"
WWW="$STATE/www"
MAILDIR="$STATE/mail"

# Debian's python3, not a pyenv/venv one from PATH: only it has python3-aiosmtpd.
PY=/usr/bin/python3
NGINX_MODULES=/usr/lib/nginx/modules
# Daemons live in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf 'servers: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ::1 only if the kernel has it on lo (some containers run without IPv6).
if grep -qs '^00000000000000000000000000000001 ' /proc/net/if_inet6; then HAVE_V6=1; else HAVE_V6=0; fi

# --------------------------------------------------------------------------
# packages
# --------------------------------------------------------------------------

ensure_packages() {
    local missing=()
    # need PACKAGE CHECK...: queue PACKAGE when CHECK fails.
    need() { local pkg=$1; shift; "$@" >/dev/null 2>&1 || missing+=("$pkg"); }
    need nginx-light             command -v nginx
    need libnginx-mod-stream     test -e "$NGINX_MODULES/ngx_stream_module.so"
    need libnginx-mod-http-echo  test -e "$NGINX_MODULES/ngx_http_echo_module.so"
    need redis-server            command -v redis-server
    need redis-tools             command -v redis-cli
    need tinyproxy               command -v tinyproxy
    need python3-aiosmtpd        "$PY" -c 'import aiosmtpd'
    need postfix                 test -x /usr/sbin/smtp-sink   # benchmarks only
    need openssl                 command -v openssl
    need curl                    command -v curl
    need iproute2                command -v ss
    need util-linux              command -v setsid
    local hook
    for hook in "${PACKAGE_HOOKS[@]}"; do "$hook"; done
    [[ ${#missing[@]} -eq 0 ]] && return 0

    [[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (run as root, or install them)"
    log "installing: ${missing[*]}"
    # Debian's maintainer scripts start default instances (redis on 6379,
    # nginx on 80, tinyproxy on 8888, postfix on 25). A policy-rc.d that says
    # "forbidden" (exit 101) stops that; we remove it again afterwards.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
    fi
    # postfix asks a debconf question; "No configuration" installs smtp-sink
    # without setting up (or starting) a mail system.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    local rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
    [[ $made_policy -eq 1 ]] && rm -f "$policy"
    [[ $rc -eq 0 ]] || die "apt-get failed ($rc)"
}

# --------------------------------------------------------------------------
# process and port helpers
# --------------------------------------------------------------------------

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

all_ports_open() { local p; for p in "$@"; do port_open 127.0.0.1 "$p" || return 1; done; }

wait_ports() {  # wait_ports SECONDS PORT...
    local deadline=$((SECONDS + $1)); shift
    until all_ports_open "$@"; do
        (( SECONDS < deadline )) || return 1
        sleep 0.1
    done
}

# Pids of the processes listening on TCP port $1 (any address).
port_pids() { ss -Hltnp "( sport = :$1 )" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }

# our_pid PIDFILE COMM: print the pid if it is alive and really is COMM
# (guards against a stale pid file whose pid was reused by something else).
our_pid() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2"* ]] || return 1
    echo "$pid"
}

# A daemon's parent is init, which may reap it only seconds later (this
# machine's init does so every ~2 s): count a zombie as gone.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

kill_pid() {  # TERM, wait up to 5 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do alive "$pid" || return 0; sleep 0.1; done
    log "pid $pid ignored TERM, killing"
    kill -KILL "$pid" 2>/dev/null || true
}

# free_ports NAME PORT...: called after our own instance is stopped, so any
# listener left is foreign. Stop it when it is one of the daemons we run
# (Debian's auto-started redis on 6379, or an instance of ours whose pid file
# was lost); refuse to touch anything else.
free_ports() {
    local name=$1 port pid comm; shift
    for port in "$@"; do
        for pid in $(port_pids "$port"); do
            comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
            case $comm in
                redis-server|nginx|tinyproxy) ;;
                python3*) grep -qs smtp_server.py "/proc/$pid/cmdline" || die "port $port is held by $comm (pid $pid), not ours" ;;
                '') continue ;;
                *) die "port $port is held by $comm (pid $pid), not ours; stop it or free the port" ;;
            esac
            # Prefer the package's own init script for Debian's default instance.
            if [[ $comm == redis-server && -x /etc/init.d/redis-server ]] && command -v service >/dev/null; then
                log "$name: stopping Debian's default redis-server on port $port"
                service redis-server stop >&2 2>&1 || true
                alive "$pid" || continue
            fi
            log "$name: stopping $comm (pid $pid) that holds port $port"
            kill_pid "$pid"
        done
    done
}

# Fingerprint of a service's inputs: when it changes, `start` restarts it.
stamp_of() { cat "$@" "$CERTS/ca.pem" "$CERTS/server.pem" | sha256sum | cut -d' ' -f1; }

# up NAME COMM PIDFILE STAMP START_FUNCTION PORT...
# Leave a healthy, up-to-date instance alone; otherwise stop ours, free the
# ports, start, and wait until every port accepts connections.
up() {
    local name=$1 comm=$2 pidfile=$3 stamp=$4 startfn=$5 pid; shift 5
    if pid=$(our_pid "$pidfile" "$comm"); then
        if [[ $(cat "$RUN/$name.stamp" 2>/dev/null) == "$stamp" ]] && all_ports_open "$@"; then
            log "$name: running (pid $pid), ports $*"
            return 0
        fi
        log "$name: config changed or ports not answering, restarting"
        kill_pid "$pid"
    fi
    rm -f "$pidfile" "$RUN/$name.stamp"
    free_ports "$name" "$@"
    log "$name: starting"
    "$startfn"
    wait_ports 15 "$@" || die "$name did not open ports $* (see $LOGS/)"
    # A daemon may open its ports before it writes its pid file (danted
    # does, under load): give the file a moment.
    local i
    for ((i = 0; i < 50; i++)); do
        our_pid "$pidfile" "$comm" >/dev/null && break
        sleep 0.1
    done
    our_pid "$pidfile" "$comm" >/dev/null || die "$name: no live pid in $pidfile (see $LOGS/)"
    echo "$stamp" > "$RUN/$name.stamp"
    log "$name: up (pid $(<"$pidfile")), ports $*"
}

# --------------------------------------------------------------------------
# content served by nginx
# --------------------------------------------------------------------------

make_www() {
    mkdir -p "$WWW"
    # /large: 8 MiB = 131072 lines of exactly 64 bytes, "%08d " line number +
    # a-zA-Z01 + "\n". Deterministic, and any byte at the wrong offset shows.
    if [[ $(stat -c %s "$WWW/large.bin" 2>/dev/null || echo 0) -ne 8388608 ]]; then
        log "generating $WWW/large.bin (8 MiB)"
        awk 'BEGIN { for (i = 0; i < 131072; i++) printf "%08d abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n", i }' \
            > "$WWW/large.bin.tmp"
        mv "$WWW/large.bin.tmp" "$WWW/large.bin"
    fi
    # /gzip: compressible text, 400 lines.
    if [[ ! -s $WWW/gzip.txt ]]; then
        awk 'BEGIN { for (i = 0; i < 400; i++) printf "line %03d: the quick brown fox jumps over the lazy dog\n", i }' > "$WWW/gzip.txt"
    fi
}

# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------

# listen_lines PORT [ssl]: loopback v4, plus v6 when available.
listen_lines() {
    local port=$1 ssl=${2:+ ssl}
    printf '        listen 127.0.0.1:%s%s;\n' "$port" "$ssl"
    [[ $HAVE_V6 -eq 1 ]] && printf '        listen [::1]:%s%s;\n' "$port" "$ssl"
    return 0
}

write_nginx_conf() {
    mkdir -p "$STATE/nginx/tmp"
    # Shared by 8080, 8443 and 8081.
    cat > "$CONF/nginx-locations.conf" <<EOF
# generated by scripts/servers.sh
# The server's view of connection reuse, on every response: the connection's
# serial number and how many requests it has served.
add_header X-Connection \$connection always;
add_header X-Connection-Requests \$connection_requests always;

location = /      { default_type text/plain; return 200 "hello\n"; }
location = /small { default_type text/plain; return 200 "hello\n"; }

# 8 MiB static file, Content-Length known.
location = /large { default_type application/octet-stream; alias $WWW/large.bin; }

# Chunked body (the echo module streams, so no Content-Length) with a trailer;
# add_trailer only takes effect on chunked responses. echo_flush makes
# separate chunks.
location = /chunked {
    default_type text/plain;
    add_trailer X-Trailer-Check "ok";
    echo "chunk one";
    echo_flush;
    echo "chunk two";
    echo_flush;
    echo "chunk three";
}
# The 8 MiB file, chunked: sub_filter drops Content-Length.
location = /chunked-large {
    default_type text/plain;
    alias $WWW/large.bin;
    sub_filter_types *;
    sub_filter "~never-matches~" "";
    sub_filter_once off;
    add_trailer X-Trailer-Check "ok";
}

# Server closes after this response (Connection: close).
location = /close { keepalive_timeout 0; default_type text/plain; return 200 "bye\n"; }

# Redirect chain 302 -> 301 -> 307 -> /small, and single 303 / 308 to /echo.
location = /redirect/1   { return 302 /redirect/2; }
location = /redirect/2   { return 301 /redirect/3; }
location = /redirect/3   { return 307 /small; }
location = /redirect-303 { return 303 /echo; }
location = /redirect-308 { return 308 /echo; }

# Echo: line 1 "METHOD URI", then the raw request head as received (request
# line + headers + blank line), then the request body. Prefix match, so
# /echo/anything?x=y works too.
location /echo {
    default_type text/plain;
    echo_read_request_body;
    echo "\$request_method \$request_uri";
    echo -n \$echo_client_request_headers;
    echo_request_body;
}

location = /status/200 { default_type text/plain; return 200 "ok\n"; }
location = /status/204 { return 204; }
location = /status/304 { return 304; }
location = /status/404 { return 404; }
location = /status/500 { return 500; }
location = /status/503 { return 503; }

# /slow: nothing at all (no headers) for 2 s, then the response.
location = /slow { default_type text/plain; echo_sleep 2; echo "slow"; }
# /slow-body: headers and first chunk at once, the rest after 2 s.
location = /slow-body { default_type text/plain; echo "start"; echo_flush; echo_sleep 2; echo "end"; }

# gzip only when the client sends Accept-Encoding: gzip.
location = /gzip {
    default_type text/plain;
    alias $WWW/gzip.txt;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    gzip_vary on;
}
EOF

    local user_line=""
    # As root, workers would otherwise switch to "nobody", which may not be
    # able to read files under the repo.
    [[ $(id -u) -eq 0 ]] && user_line="user root;"
    local tls="ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;"

    cat > "$CONF/nginx.conf" <<EOF
# generated by scripts/servers.sh; run as: nginx -c $CONF/nginx.conf -p $STATE/nginx/
load_module $NGINX_MODULES/ngx_http_echo_module.so;
load_module $NGINX_MODULES/ngx_stream_module.so;
$user_line
worker_processes 2;
pid $RUN/nginx.pid;
error_log $LOGS/nginx-error.log warn;
events { worker_connections 4096; }

http {
    access_log $LOGS/nginx-access.log;
    client_body_temp_path $STATE/nginx/tmp/body;
    proxy_temp_path       $STATE/nginx/tmp/proxy;
    fastcgi_temp_path     $STATE/nginx/tmp/fastcgi;
    uwsgi_temp_path       $STATE/nginx/tmp/uwsgi;
    scgi_temp_path        $STATE/nginx/tmp/scgi;
    types { text/plain txt; text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    ssl_session_cache shared:SSL:1m;

    # 8080: plain HTTP, long keep-alive, plus stub_status for the server's view
    # of connections ("Active connections", accepts).
    server {
$(listen_lines 8080)
        listen unix:$RUN/nginx-http.sock;
        server_name localhost;
        keepalive_requests 100000;
        keepalive_timeout 75s;
        location = /nginx_status { stub_status; }
        include $CONF/nginx-locations.conf;
    }

    # 8443: HTTPS, TLS 1.2 and 1.3.
    server {
$(listen_lines 8443 ssl)
        server_name localhost;
        $tls
        keepalive_requests 100000;
        keepalive_timeout 75s;
        include $CONF/nginx-locations.conf;
    }

    # 8081: plain HTTP that closes after 3 requests or 1 s idle: exercises
    # reuse of connections the server has closed.
    server {
$(listen_lines 8081)
        server_name localhost;
        keepalive_requests 3;
        keepalive_timeout 1s;
        include $CONF/nginx-locations.conf;
    }

    # 8444: HTTPS that requires a client cert signed by the test CA. Without
    # one nginx still completes the handshake and answers 400.
    server {
$(listen_lines 8444 ssl)
        server_name localhost;
        $tls
        ssl_client_certificate $CERTS/ca.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / { default_type text/plain; return 200 "client cert ok\n"; }
    }
}

# 3443: HTTPS proxy = TLS terminated here, plaintext passed to tinyproxy 3128.
stream {
    server {
        listen 127.0.0.1:3443 ssl;
        $tls
        proxy_pass 127.0.0.1:3128;
    }
}
EOF
}

start_nginx() {
    # A socket file left by an nginx that was killed (not stopped) makes
    # bind() fail; `up` has stopped any nginx of ours that could hold it.
    rm -f "$RUN/nginx-http.sock"
    # -e: early error log to a file instead of stderr.
    nginx -t -q -c "$CONF/nginx.conf" -p "$STATE/nginx/" -e "$LOGS/nginx-error.log" \
        || die "nginx config test failed (see $LOGS/nginx-error.log)"
    nginx -c "$CONF/nginx.conf" -p "$STATE/nginx/" -e "$LOGS/nginx-error.log" \
        </dev/null >>"$LOGS/nginx.out" 2>&1
}

# --------------------------------------------------------------------------
# redis
# --------------------------------------------------------------------------

write_redis_conf() {
    mkdir -p "$STATE/redis"
    local bind="127.0.0.1"
    # "-" = skip silently if the address is not available.
    [[ $HAVE_V6 -eq 1 ]] && bind="127.0.0.1 -::1"
    cat > "$CONF/redis.conf" <<EOF
# generated by scripts/servers.sh
bind $bind
port 6379
tls-port 6380
tls-cert-file $CERTS/server.pem
tls-key-file $CERTS/server.key
tls-ca-cert-file $CERTS/ca.pem
tls-auth-clients no
tls-protocols "TLSv1.2 TLSv1.3"
daemonize yes
pidfile $RUN/redis.pid
logfile $LOGS/redis.log
unixsocket $RUN/redis.sock
unixsocketperm 700
dir $STATE/redis
save ""
appendonly no
# DEBUG SLEEP etc. for timeout tests (Redis 7 disables DEBUG by default).
enable-debug-command yes

# ACL users. Tests without credentials rely on the default user.
user default on nopass ~* &* +@all
user pconn-a on >secret-a ~* &* +@all
user pconn-b on >secret-b ~* &* +@all -flushall -flushdb -debug -config
user pconn-ro on >secret-ro ~* &* -@all +@read +@connection +ping +hello +auth +select +client +acl|whoami +reset +quit
EOF
}

start_redis() { redis-server "$CONF/redis.conf" </dev/null >>"$LOGS/redis.out" 2>&1; }

# --------------------------------------------------------------------------
# smtp (aiosmtpd)
# --------------------------------------------------------------------------

start_smtp() {
    mkdir -p "$MAILDIR"
    local hosts=(--host 127.0.0.1)
    [[ $HAVE_V6 -eq 1 ]] && hosts+=(--host ::1)
    # setsid: own session, so a Ctrl-C in `make` does not kill it; stdio to
    # files so callers capturing our output ($(...), pipes) do not hang.
    setsid nohup "$PY" "$ROOT/scripts/smtp_server.py" \
        --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --maildir "$MAILDIR" --pidfile "$RUN/smtp.pid" "${hosts[@]}" \
        --port 2525 --tls-port 2465 \
        </dev/null >>"$LOGS/smtp.log" 2>&1 &
    # The server writes its pid file once both ports are bound.
    local i
    for ((i = 0; i < 100; i++)); do [[ -s $RUN/smtp.pid ]] && return 0; sleep 0.1; done
    die "smtp server did not start (see $LOGS/smtp.log)"
}

# --------------------------------------------------------------------------
# tinyproxy
# --------------------------------------------------------------------------

# Only the test ports may be CONNECTed to; anything else gets 403.
TEST_PORTS=(8443 8444 8080 6379 6380 2525 2465)

write_tinyproxy_conf() {  # PORT [auth]
    local port=$1 auth=${2:-} p
    {
        echo "# generated by scripts/servers.sh"
        echo "Port $port"
        echo "Listen 127.0.0.1"
        echo "Timeout 600"
        echo "LogFile \"$LOGS/tinyproxy-$port.log\""
        echo "LogLevel Info"
        echo "PidFile \"$RUN/tinyproxy-$port.pid\""
        echo "MaxClients 200"
        echo "Allow 127.0.0.1"
        echo "Allow ::1"
        for p in "${TEST_PORTS[@]}"; do echo "ConnectPort $p"; done
        [[ -n $auth ]] && echo "BasicAuth pconn pconn-secret"
        true
    } > "$CONF/tinyproxy-$port.conf"
}

start_tinyproxy_3128() { tinyproxy -c "$CONF/tinyproxy-3128.conf" </dev/null >>"$LOGS/tinyproxy.out" 2>&1; }
start_tinyproxy_3129() { tinyproxy -c "$CONF/tinyproxy-3129.conf" </dev/null >>"$LOGS/tinyproxy.out" 2>&1; }

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------

cmd_start() {
    ensure_packages
    mkdir -p "$CONF" "$RUN" "$LOGS" "$MAILDIR"
    "$ROOT/scripts/certs.sh" "$CERTS"
    make_www

    write_redis_conf
    up redis redis-server "$RUN/redis.pid" "$(stamp_of "$CONF/redis.conf")" start_redis 6379 6380

    up smtp python3 "$RUN/smtp.pid" "$(stamp_of "$ROOT/scripts/smtp_server.py")" start_smtp 2525 2465

    write_tinyproxy_conf 3128
    write_tinyproxy_conf 3129 auth
    up tinyproxy-3128 tinyproxy "$RUN/tinyproxy-3128.pid" "$(stamp_of "$CONF/tinyproxy-3128.conf")" start_tinyproxy_3128 3128
    up tinyproxy-3129 tinyproxy "$RUN/tinyproxy-3129.pid" "$(stamp_of "$CONF/tinyproxy-3129.conf")" start_tinyproxy_3129 3129

    write_nginx_conf
    up nginx nginx "$RUN/nginx.pid" "$(stamp_of "$CONF/nginx.conf" "$CONF/nginx-locations.conf")" start_nginx \
        8080 8443 8081 8444 3443
    local hook
    for hook in "${START_HOOKS[@]}"; do "$hook"; done
    log "all servers up; state in $STATE"
}


cmd_stop() {
    local entry name comm pid
    for entry in "${SERVICES[@]}"; do
        read -r name comm <<<"$entry"
        local pidfile="$RUN/${name}.pid"
        if pid=$(our_pid "$pidfile" "$comm"); then
            log "$name: stopping (pid $pid)"
            kill_pid "$pid"
        fi
        rm -f "$pidfile" "$RUN/$name.stamp"
    done
}

cmd_status() {
    local entry name comm pid
    for entry in "${SERVICES[@]}"; do
        read -r name comm <<<"$entry"
        if pid=$(our_pid "$RUN/${name}.pid" "$comm"); then log "$name: running (pid $pid)"; else log "$name: stopped"; fi
    done
}

# emit VAR DEFAULT: a value the caller already set wins, so the same tests
# can run against servers elsewhere.
emit() {
    local var=$1 val=$2
    [[ -n ${!var+x} ]] && val=${!var}
    printf 'export %s=%q\n' "$var" "$val"
}

cmd_env() {
    emit PCONN_HTTP_URL               "http://127.0.0.1:8080"
    emit PCONN_HTTPS_URL              "https://localhost:8443"
    emit PCONN_HTTP_LIMITED_URL       "http://127.0.0.1:8081"
    emit PCONN_HTTPS_CLIENT_CERT_URL  "https://localhost:8444"
    emit PCONN_REDIS_URL              "redis://127.0.0.1:6379"
    emit PCONN_REDIS_TLS_URL          "rediss://localhost:6380"
    emit PCONN_SMTP_URL               "smtp://127.0.0.1:2525"
    emit PCONN_SMTPS_URL              "smtps://localhost:2465"
    emit PCONN_SMTP_MAILDIR           "$MAILDIR"
    emit PCONN_PROXY_URL              "http://127.0.0.1:3128"
    emit PCONN_PROXY_AUTH_URL         "http://pconn:pconn-secret@127.0.0.1:3129"
    emit PCONN_PROXY_TLS_URL          "https://localhost:3443"
    emit PCONN_TEST_CA                "$CERTS/ca.pem"
    emit PCONN_TEST_CLIENT_CERT       "$CERTS/client.pem"
    emit PCONN_TEST_CLIENT_KEY        "$CERTS/client.key"
    emit PCONN_REDIS_UNIX_URL         "unix://$RUN/redis.sock"
    emit PCONN_HTTP_UNIX_SOCKET       "$RUN/nginx-http.sock"
    local hook
    for hook in "${ENV_HOOKS[@]}"; do "$hook"; done
}

# --------------------------------------------------------------------------
# service groups from scripts/servers.d/
# --------------------------------------------------------------------------

PACKAGE_HOOKS=() START_HOOKS=() ENV_HOOKS=()
# Stopped in this order; plugins append theirs.
SERVICES=("nginx nginx" "tinyproxy-3129 tinyproxy" "tinyproxy-3128 tinyproxy" "smtp python3" "redis redis-server")
for plugin in "$ROOT"/scripts/servers.d/*.sh; do
    [[ -e $plugin ]] || continue
    # shellcheck source=/dev/null
    source "$plugin"
done

# Sourced (docker/run-group.sh does, inside the containers of compose.yaml):
# define everything above, run nothing.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

case "${1:-}" in
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status)  cmd_status ;;
    env)     cmd_env ;;
    *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
