#!/usr/bin/env bash
# The test servers of compose.yaml, for `make docker-up|docker-down|docker-test`.
#
#   docker/compose.sh up     engine, base image, image build (cached), start,
#                            wait until every service is healthy
#   docker/compose.sh down   stop and remove the containers (state is kept)
#   docker/compose.sh env    the `export PCONN_...` lines for these containers
#   docker/compose.sh test   up, the whole test suite (make test-suite)
#                            against them, down: also on failure
#   docker/compose.sh ps     the services and their health
#
# The servers listen on the host's loopback on the native ports: stop the
# native ones first (`make stop`). Works with `docker compose` (v2) and
# Debian's `docker-compose` (v1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=lib.sh
source docker/lib.sh

ROOT=$DOCKER_ROOT
export PCONN_DOCKER_STATE_DIR=${PCONN_DOCKER_STATE_DIR:-$ROOT/.servers-docker}
IMAGE=pconn-test-servers

compose() { "${COMPOSE[@]}" -f "$ROOT/compose.yaml" "$@"; }

# The ports of every endpoint servers.sh exports: refuse to start over
# servers that already answer there (the healthchecks would pass on them,
# and the suite would test the wrong servers).
check_ports_free() {
    local port busy=()
    for port in $(cmd_env | grep -oE '(127\.0\.0\.1|localhost):[0-9]+' | cut -d: -f2 | sort -un); do
        if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then busy+=("$port"); fi
    done
    [[ ${#busy[@]} -eq 0 ]] ||
        ddie "ports ${busy[*]} already answer on 127.0.0.1 (native test servers? 'make stop' first)"
}

running_services() { compose ps --services --filter status=running 2>/dev/null || true; }

cmd_up() {
    ensure_docker
    ensure_compose
    ensure_base_image
    if [[ -z $(running_services) ]]; then check_ports_free; fi
    mkdir -p "$PCONN_DOCKER_STATE_DIR"
    dlog "building $IMAGE (cached when scripts/servers.sh and servers.d did not change)"
    docker_build --network host -f docker/servers.Dockerfile \
        --build-arg DEBIAN_IMAGE="$PCONN_DEBIAN_IMAGE" -t "$IMAGE" .
    dlog "starting services (${COMPOSE[*]})"
    compose up -d --no-build --remove-orphans
    wait_healthy 120
    dlog "all services healthy; endpoints: eval \"\$(docker/compose.sh env)\""
}

# wait_healthy SECONDS: every server healthy, the setup service exited 0.
wait_healthy() {
    local deadline=$((SECONDS + $1)) id name state health code pending bad
    while true; do
        pending=() bad=()
        for id in $(compose ps -a -q); do
            IFS='|' read -r name state health code < <(docker inspect -f \
                '{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}' "$id")
            name=${name#/}
            if [[ -z $health ]]; then          # one-shot (setup)
                [[ $state == exited && $code == 0 ]] && continue
                [[ $state == exited ]] && bad+=("$name") || pending+=("$name")
            elif [[ $state != running ]]; then
                bad+=("$name")
            elif [[ $health != healthy ]]; then
                pending+=("$name")
            fi
        done
        if [[ ${#bad[@]} -gt 0 ]]; then
            for name in "${bad[@]}"; do docker logs --tail 20 "$name" >&2 || true; done
            ddie "not running: ${bad[*]} (logs above; also $PCONN_DOCKER_STATE_DIR/logs)"
        fi
        [[ ${#pending[@]} -eq 0 ]] && return 0
        (( SECONDS < deadline )) || ddie "not healthy after $1 s: ${pending[*]}"
        sleep 0.5
    done
}

cmd_down() {
    ensure_compose
    docker info >/dev/null 2>&1 || { dlog "no Docker engine running: nothing to stop"; return 0; }
    compose down --remove-orphans --timeout 10
}

cmd_env() { PCONN_STATE_DIR="$PCONN_DOCKER_STATE_DIR" scripts/servers.sh env; }

cmd_test() {
    local rc=0 start=$SECONDS
    cmd_up
    # From here on the services come down whatever happens.
    trap 'dlog "stopping services"; cmd_down >&2 || true' EXIT
    eval "$(cmd_env)"
    dlog "running the test suite against the containers"
    make --no-print-directory test-suite || rc=$?
    dlog "docker-test: exit $rc after $((SECONDS - start)) s"
    return "$rc"
}

cmd_ps() { ensure_compose; compose ps; }

case "${1:-}" in
    up)   cmd_up ;;
    down) cmd_down ;;
    env)  cmd_env ;;
    test) cmd_test ;;
    ps)   cmd_ps ;;
    *) echo "usage: $0 up|down|env|test|ps" >&2; exit 2 ;;
esac
