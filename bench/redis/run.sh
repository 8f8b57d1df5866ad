#!/usr/bin/env bash
# Runs the Redis benchmark against its own redis-server pinned to CPU 0,
# with the benchmark pinned to the same CPU (docs/BENCHMARKING.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PORT=${BENCH_REDIS_PORT:-6390}
export PATH="$PATH:/usr/sbin:/usr/local/sbin"
cargo build --release -q
DIR=$(mktemp -d)
taskset -c 0 redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$DIR" --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
for _ in $(seq 50); do [[ -s $DIR/redis.pid ]] && break; sleep 0.1; done
trap 'kill "$(cat "$DIR/redis.pid")" 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 0.3
taskset -c 0 "${CARGO_TARGET_DIR:-target}/release/bench-redis" --url "redis://127.0.0.1:$PORT" "$@"
