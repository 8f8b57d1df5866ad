#!/usr/bin/env bash
# Runs the HTTP benchmark pinned to CPU 0 (see docs/BENCHMARKING.md)
# against a dedicated nginx (one worker, access log off) that it starts on
# free loopback ports, pinned to the same CPU, with the test certificates.
#   bench/http/run.sh [--requests N] [--fresh-requests N] [--rounds R]
#   BENCH_FEATURES=full bench/http/run.sh ...   every pconn-http feature compiled in
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
CERTS=${PCONN_CERTS:-$ROOT/.servers/certs}
[[ -s $CERTS/server.pem ]] || { echo "no test certs in $CERTS (run scripts/servers.sh start)" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
command -v nginx >/dev/null || { echo "nginx not found (apt-get install nginx-light)" >&2; exit 1; }
bin=target/release/bench-http
if [[ -n ${BENCH_FEATURES:-} ]]; then
    # Its own target dir, so the two builds do not rebuild each other.
    cargo build -q --release --features "$BENCH_FEATURES" --target-dir "target/features-$BENCH_FEATURES"
    bin=target/features-$BENCH_FEATURES/release/bench-http
else
    cargo build -q --release
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
https_port=$(free_port)
dir=$(mktemp -d)
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
cat > "$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    uwsgi_temp_path $dir;
    scgi_temp_path $dir;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    tcp_nodelay on;
    ssl_session_cache shared:BENCH:1m;
    server {
        listen 127.0.0.1:$http_port;
        listen 127.0.0.1:$https_port ssl;
        server_name localhost;
        ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        ssl_protocols TLSv1.3;
        location = /small { default_type text/plain; return 200 "hello\n"; }
    }
}
CONF
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$https_port") 2>/dev/null && break
    sleep 0.1
done
taskset -c 0 ${BENCH_PREFIX:-} "$bin" --http "http://127.0.0.1:$http_port/small" \
    --https "https://localhost:$https_port/small" --ca "$CERTS/ca.pem" "$@"
