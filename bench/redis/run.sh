#!/usr/bin/env bash
# Runs the Redis benchmark against its own redis-server pinned to CPU 0,
# with the benchmark pinned to the same CPU (docs/BENCHMARKING.md), and
# its own 3-master Redis Cluster (ports 7090-7092, also on CPU 0) for the
# cluster workloads (BENCH_REDIS_CLUSTER=0 skips them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PORT=${BENCH_REDIS_PORT:-6390}
CLUSTER_PORTS=(7090 7091 7092)
export PATH="$PATH:/usr/sbin:/usr/local/sbin"
cargo build --release -q
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$(cat "$p")" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT
start() {  # NAME ARGS...
    local name=$1; shift
    mkdir -p "$DIR/$name"
    taskset -c 0 redis-server --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$DIR/$name" --daemonize yes --pidfile "$DIR/$name/redis.pid" \
        --logfile "$DIR/$name/redis.log" "$@"
    PIDS+=("$DIR/$name/redis.pid")
    for _ in $(seq 50); do [[ -s $DIR/$name/redis.pid ]] && break; sleep 0.1; done
}
start single --port "$PORT"
ARGS=(--url "redis://127.0.0.1:$PORT")
if [[ ${BENCH_REDIS_CLUSTER:-1} != 0 ]]; then
    seeds=()
    for p in "${CLUSTER_PORTS[@]}"; do
        start "c$p" --port "$p" --cluster-enabled yes --cluster-config-file nodes.conf
        seeds+=("127.0.0.1:$p")
    done
    timeout 60 redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
    for _ in $(seq 100); do
        redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q '^cluster_state:ok' && break
        sleep 0.1
    done
    ARGS+=(--cluster-url "redis://$(IFS=,; echo "${seeds[*]}")")
fi
sleep 0.3
taskset -c 0 "${CARGO_TARGET_DIR:-target}/release/bench-redis" "${ARGS[@]}" "$@"
