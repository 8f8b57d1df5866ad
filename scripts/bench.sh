#!/usr/bin/env bash
# The side-by-side benchmarks (`make bench`): each compares our client with
# its peers and a raw-socket loop in one run, pinned to CPU 0 as
# docs/BENCHMARKING.md asks, and prints ratios. The peers are built only
# here: bench/ is outside the workspace so `make test` never compiles them.
#
#   scripts/bench.sh                  every benchmark
#   scripts/bench.sh http redis       only those
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want() {
    local name=$1; shift
    [[ ${#ARGS[@]} -eq 0 ]] && return 0
    local a
    for a in "${ARGS[@]}"; do [[ $a == "$name" ]] && return 0; done
    return 1
}
ARGS=("$@")

if want transport; then
    echo "== transport: checkout + probe + release of an idle pooled connection"
    taskset -c 0 cargo bench -q -p pconn-transport --bench checkout
fi
if want http; then
    echo "== http: http-client vs ureq vs reqwest vs raw socket (nginx)"
    bench/http/run.sh --rounds 10
fi
if want redis; then
    echo "== redis: redis-client vs redis-rs vs raw socket"
    bench/redis/run.sh --rounds 15 --ops 20000
fi
if want smtp; then
    echo "== smtp: smtp-client vs lettre vs raw socket (smtp-sink)"
    bench/smtp/run.sh --mails 2000 --rounds 7
fi
if want proxy; then
    echo "== proxy: HTTPS through tinyproxy, proxy-tunnel vs ureq vs raw socket"
    (cd bench/proxy && cargo build -q --release && taskset -c 0 target/release/bench-proxy)
fi
