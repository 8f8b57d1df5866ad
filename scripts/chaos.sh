#!/usr/bin/env bash
# make chaos / make soak: the long runs of tests/chaos.rs and tests/soak.rs
# against the servers of scripts/servers.sh (endpoints from the environment).
#
#   scripts/chaos.sh chaos   CHAOS_SECONDS (300), CHAOS_THREADS (8), CHAOS_SEED
#   scripts/chaos.sh soak    SOAK_SECONDS (600), CHAOS_SEED
#
# Prints ONE JSON line of figures on stdout (progress and the seed on
# stderr); exits non-zero when the run found a wrong reply or a leak.
# CHAOS_PROFILE=debug skips the release build (slower, fewer operations).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-chaos}
case $what in
    chaos) test=chaos; name=chaos_long ;;
    soak)  test=soak;  name=soak_long ;;
    *) echo "usage: $0 chaos|soak" >&2; exit 2 ;;
esac
# The soak's RSS bound is about our memory, not glibc's per-thread arenas
# (see tests/soak.rs): one arena unless the caller says otherwise.
[[ $what == soak ]] && export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-1}
profile=()
[[ ${CHAOS_PROFILE:-release} == release ]] && profile=(--release)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
cargo test "${profile[@]}" -p integration-tests --test "$test" -- \
    --ignored --exact "$name" --nocapture --test-threads=1 >"$out" || rc=$?
# The figures are the test's one JSON object (the harness may print
# "test NAME ... " before it on the same line).
grep -oE '\{"seed".*\}' "$out" | head -1 || { cat "$out" >&2; echo "no figures printed" >&2; }
[[ $rc -eq 0 ]] || grep -v -E '\{"seed"' "$out" >&2 || true
exit "$rc"
