#!/usr/bin/env bash
# Performance at scale (`make bench-scale`): starts a dedicated nginx (HTTP
# and HTTPS, /small, 4096 connections) and redis-server on free loopback
# ports, pinned to CPU 0 with the benchmark (docs/BENCHMARKING.md), runs
# every part, writes JSON and SVG charts to bench/scale/results/.
#   bench/scale/run.sh [threads|latency|memory|alloc|keys ...] [-- extra flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
CERTS=${PCONN_CERTS:-$ROOT/.servers/certs}
[[ -s $CERTS/server.pem ]] || { echo "no test certs in $CERTS (run scripts/servers.sh start)" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
command -v nginx >/dev/null || { echo "nginx not found (apt-get install nginx-light)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 1; }
cargo build -q --release

parts=()
extra=()
while [[ $# -gt 0 ]]; do
    if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
    parts+=("$1"); shift
done
[[ ${#parts[@]} -gt 0 ]] || parts=(threads latency memory alloc keys)

# 1,000 idle connections per client, 10,000 pool keys: more descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port); https_port=$(free_port); redis_port=$(free_port)
dir=$(mktemp -d)
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
cat > "$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
$user_line
worker_processes 1;
worker_rlimit_nofile 19000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    uwsgi_temp_path $dir;
    scgi_temp_path $dir;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    tcp_nodelay on;
    ssl_session_cache shared:BENCH:4m;
    server {
        listen 127.0.0.1:$http_port backlog=4096;
        listen 127.0.0.1:$https_port ssl backlog=4096;
        server_name localhost;
        ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        ssl_protocols TLSv1.3;
        location = /small { default_type text/plain; return 200 "hello\n"; }
        # Answers after 0.5 s: concurrent requests need a connection each.
        location = /slow { default_type text/plain; echo_sleep 0.5; echo hello; }
    }
}
CONF
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" &
nginx_pid=$!
taskset -c 0 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --maxclients 10000 --daemonize no --dir "$dir" >"$dir/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$nginx_pid" "$redis_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
for port in "$https_port" "$redis_port"; do
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

common=(--http "http://127.0.0.1:$http_port/small" --https "https://localhost:$https_port/small"
        --ca "$CERTS/ca.pem" --redis "redis://127.0.0.1:$redis_port" --out results)
for part in "${parts[@]}"; do
    echo "== $part"
    taskset -c 0 ${BENCH_PREFIX:-} target/release/bench-scale "$part" "${common[@]}" "${extra[@]}"
done
target/release/bench-scale chart --out results
ls results/*.svg
