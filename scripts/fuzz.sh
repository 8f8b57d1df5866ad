#!/usr/bin/env bash
# make fuzz: every cargo-fuzz target of every crate (<crate>/fuzz), each for
# FUZZ_SECONDS (60 by default), or FUZZ_RUNS executions when set. Needs the
# nightly toolchain; installs cargo-fuzz from crates.io when it is missing.
#
#   FUZZ_SECONDS=600 make fuzz          ten minutes per target
#   FUZZ_RUNS=10000000 make fuzz        ten million executions per target
#   FUZZ_TARGETS="smtp-client/reply"    only these (crate/target, spaces)
#   FUZZ_MERGE=1                        add new coverage to the committed corpus
#
# New inputs collect in target/fuzz-corpus/<crate>/<target> (seeded from the
# committed corpus <crate>/fuzz/corpus/<target>, which tests/fuzz_corpus.rs
# replays on stable). A crash leaves its input in <crate>/fuzz/artifacts/.
# Prints ONE JSON line: executions and crashes per target; exits non-zero on
# any crash.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

rustup toolchain list 2>/dev/null | grep -q '^nightly' || {
    echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked >&2

seconds=${FUZZ_SECONDS:-60}
# One target dir for every crate's fuzz workspace: libFuzzer's C++ and the
# shared dependencies are built once, not once per crate.
target_dir=${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}
logs="$ROOT/target/fuzz-logs"
mkdir -p "$logs"

targets=()
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    for dir in */fuzz; do
        krate=${dir%/fuzz}
        while read -r t; do [[ -n $t ]] && targets+=("$krate/$t"); done \
            < <(cd "$krate" && cargo +nightly fuzz list 2>/dev/null)
    done
fi

json="" failed=0
for entry in "${targets[@]}"; do
    krate=${entry%%/*} target=${entry#*/}
    work="$ROOT/target/fuzz-corpus/$krate/$target"
    mkdir -p "$work"
    log="$logs/$krate-$target.log"
    limit=(-max_total_time="$seconds")
    [[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS")
    budget="$seconds s"
    [[ -n ${FUZZ_RUNS:-} ]] && budget="$FUZZ_RUNS runs"
    echo "fuzz: $krate/$target ($budget), log $log" >&2
    rc=0
    # -s none: every crate forbids unsafe code, so AddressSanitizer finds
    # nothing there and would halve the executions; debug assertions (integer
    # overflow) stay on.
    (cd "$krate" && cargo +nightly fuzz run -s none --target-dir "$target_dir" "$target" "$work" "fuzz/corpus/$target" -- \
        "${limit[@]}" -print_final_stats=1) >"$log" 2>&1 || rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=0
    if [[ $rc -ne 0 ]]; then crashes=1; failed=1; tail -30 "$log" >&2; fi
    if [[ ${FUZZ_MERGE:-0} == 1 && $rc -eq 0 ]]; then
        (cd "$krate" && cargo +nightly fuzz run -s none --target-dir "$target_dir" "$target" "fuzz/corpus/$target" "$work" -- -merge=1) \
            >>"$log" 2>&1 || true
    fi
    json+="${json:+,}\"$krate/$target\":{\"executions\":${execs:-0},\"crashes\":$crashes}"
done
echo "{\"fuzz_seconds\":$seconds,\"targets\":{$json}}"
exit "$failed"
