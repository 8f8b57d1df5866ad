#!/usr/bin/env bash
# Do the opt-in features cost a keep-alive request anything when unused?
# Alternates the benchmark built with pconn-http's defaults and built with
# every feature (`--features full`), RUNS times each, keep-alive HTTP and
# HTTPS, and prints each run's http-client / raw ratio (median round) and
# the median over runs; the full build also runs http-client with a cookie
# jar and a middleware on. Ratios to the raw loop of the same run, so the
# machine's drift between runs cancels.
#   bench/http/features.sh [RUNS] [extra run.sh options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
runs=${1:-5}
shift || true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$runs"); do
    for build in default full; do
        for scenario in 0 1; do
            features=""
            [[ $build == full ]] && features=full
            BENCH_FEATURES=$features ./run.sh --scenario "$scenario" --rounds 3 \
                --only "raw socket,http-client,http-client+jar+mw" "$@" \
                >"$out/$build-$scenario-$i.txt"
            # The last column is the median round's ratio to the raw loop.
            awk -v b="$build" -v s="$scenario" '
                /^  http-client / { print b, s, "unused", $NF }
                /^  http-client\+jar\+mw / { print b, s, "jar+mw", $NF }
            ' "$out/$build-$scenario-$i.txt" | tee -a "$out/ratios"
        done
    done
done
echo
echo "median over $runs runs of http-client / raw (keep-alive; 0 = HTTP, 1 = HTTPS):"
cut -d' ' -f1-3 "$out/ratios" | sort -u | while read -r build scenario client; do
    values=$(awk -v b="$build" -v s="$scenario" -v c="$client" '$1 == b && $2 == s && $3 == c { print $4 }' "$out/ratios" | sort -n)
    n=$(wc -l <<<"$values")
    echo "$build $scenario $client $(sed -n "$(((n + 1) / 2))p" <<<"$values") ($(tr '\n' ' ' <<<"$values"))"
done
