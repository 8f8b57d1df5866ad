#!/usr/bin/env bash
# Entry point of every container in compose.yaml. It sources
# scripts/servers.sh and runs the very code `make test` runs natively, so
# the two paths generate the same configs and cannot drift:
#
#   run-group.sh setup          state dirs, certificates (scripts/certs.sh),
#                               served files; one-shot, before any server
#   run-group.sh start NAME...  start the named servers, then watch them:
#                               NAME is a base service of servers.sh (the
#                               NAME of one of its `up` calls: redis, smtp,
#                               tinyproxy-3128, tinyproxy-3129, nginx), a
#                               START_HOOKS function of scripts/servers.d/
#                               (e.g. cluster_start: all of its servers), or
#                               `servers.d`: every START_HOOKS function not
#                               named in PCONN_DOCKER_OWN_HOOKS (the groups
#                               that have a service of their own)
#   run-group.sh health         healthcheck: every server started here has
#                               a live pid and answers on all its ports
#
# The container exits when one of its servers dies and is not started
# again within PCONN_DOCKER_RESTART_GRACE seconds (30), and stops its
# servers on SIGTERM (docker stop), so a stopped container looks to a
# client exactly like a stopped native server: connection refused.
#
# State (certs, pid files, Unix sockets, logs, mail) is the bind-mounted
# PCONN_STATE_DIR shared by all containers and the host; generated configs
# stay private to each container (CONF below) so that containers starting
# at once never write the same file.
set -euo pipefail

SERVERS_SH=/pconn/scripts/servers.sh
RECORD=/run/pconn-servers   # "name comm pidfile port..." per started server
STARTED=/run/pconn-started  # written once every named server is up

cmd=${1:-}
shift || true

# shellcheck source=../scripts/servers.sh
source "$SERVERS_SH"
CONF=/run/pconn-conf
mkdir -p "$CONF"

case $cmd in
    setup)
        mkdir -p "$RUN" "$LOGS" "$MAILDIR"
        "$ROOT/scripts/certs.sh" "$CERTS"
        make_www
        log "setup done: state in $STATE"
        exit 0
        ;;
    health)
        [[ -e $STARTED ]] || exit 1
        while read -r name comm pidfile ports; do
            our_pid "$pidfile" "$comm" >/dev/null || { echo "$name: not running"; exit 1; }
            # shellcheck disable=SC2086
            all_ports_open $ports || { echo "$name: ports $ports not answering"; exit 1; }
        done < "$RECORD"
        exit 0
        ;;
    start) ;;
    *) echo "usage: $0 setup | start NAME... | health" >&2; exit 2 ;;
esac

[[ $# -gt 0 ]] || die "start: name at least one server"

# Sort the names into servers.d hooks and base services.
hooks=() base=()
for name in "$@"; do
    found=0
    if [[ $name == servers.d ]]; then
        for hook in "${START_HOOKS[@]}"; do
            [[ " ${PCONN_DOCKER_OWN_HOOKS:-} " == *" $hook "* ]] || hooks+=("$hook")
        done
        continue
    fi
    for hook in "${START_HOOKS[@]}"; do [[ $hook == "$name" ]] && found=1; done
    if [[ $found -eq 1 ]]; then hooks+=("$name"); else base+=("$name"); fi
done
START_HOOKS=("${hooks[@]}")

# Wrap servers.sh's `up`: an `up` called by cmd_start itself (a base
# service) runs only when named; one called from a selected hook always
# runs. This container never ran the server before, so a pid file left in
# the shared state by an earlier container is stale: start afresh.
eval "servers_sh_up() $(declare -f up | tail -n +2)"
seen=()
up() {
    local name=$1 comm=$2 pidfile=$3
    if [[ ${FUNCNAME[1]} == cmd_start ]]; then
        local b wanted=0
        for b in "${base[@]}"; do [[ $b == "$name" ]] && wanted=1; done
        [[ $wanted -eq 1 ]] || return 0
        seen+=("$name")
    fi
    rm -f "$pidfile" "$RUN/$name.stamp"
    servers_sh_up "$@"
    echo "$name $comm $pidfile ${*:6}" >> "$RECORD"
}

: > "$RECORD"
rm -f "$STARTED"
cmd_start
for b in "${base[@]}"; do
    [[ " ${seen[*]} " == *" $b "* ]] || die "no server or hook named '$b' in scripts/servers.sh or scripts/servers.d/"
done
touch "$STARTED"

# Watch: stop everything on TERM/INT, exit when a server dies.
stop_all() {
    local name comm pidfile ports pid
    while read -r name comm pidfile ports; do
        if pid=$(our_pid "$pidfile" "$comm"); then
            log "$name: stopping (pid $pid)"
            kill_pid "$pid"
        fi
        rm -f "$pidfile" "$RUN/$name.stamp"
    done < "$RECORD"
}
trap 'stop_all; exit 0' TERM INT
# A server that died may be started again by a test that killed it on
# purpose (tests/src/server_process.rs: `docker exec` with the same config):
# only one that stays down for GRACE seconds stops the container.
GRACE=${PCONN_DOCKER_RESTART_GRACE:-30}
declare -A down_since=()
log "watching: $(cut -d' ' -f1 "$RECORD" | tr '\n' ' ')"
while true; do
    while read -r name comm pidfile ports; do
        if our_pid "$pidfile" "$comm" >/dev/null; then
            unset "down_since[$name]"
        elif [[ -z ${down_since[$name]:-} ]]; then
            log "$name: died (see $LOGS/); waiting ${GRACE} s for a restart"
            down_since[$name]=$SECONDS
        elif ((SECONDS - down_since[$name] >= GRACE)); then
            log "$name: down for ${GRACE} s; stopping the others"
            stop_all
            exit 1
        fi
    done < "$RECORD"
    sleep 1 &
    wait $! || true
done
