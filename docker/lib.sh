# shellcheck shell=bash
# Helpers shared by docker/compose.sh and scripts/fresh-machine.sh (sourced):
# a running Docker engine, a Compose command, the Debian base image.
#
#   PCONN_DEBIAN_RELEASE  Debian release of the images (default: the host's
#                         when it runs Debian, else bookworm), so the
#                         containers run the server versions the native path
#                         installs on this host
#   PCONN_DEBIAN_IMAGE    base image (default debian:$RELEASE-slim): pulled
#                         where a registry answers, else made here
#   PCONN_DEBIAN_MIRROR   mirror for debootstrap (default deb.debian.org)
#   PCONN_COMPOSE         compose command to use ("docker compose" or
#                         "docker-compose"; default: whichever works)

DOCKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

dlog() { printf 'docker: %s\n' "$*" >&2; }
ddie() { dlog "ERROR: $*"; exit 1; }

host_release() {
    local id="" codename=""
    if [[ -r /etc/os-release ]]; then
        id=$(. /etc/os-release && echo "${ID:-}")
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    fi
    if [[ $id == debian && -n $codename ]]; then echo "$codename"; else echo bookworm; fi
}
PCONN_DEBIAN_RELEASE=${PCONN_DEBIAN_RELEASE:-$(host_release)}
PCONN_DEBIAN_IMAGE=${PCONN_DEBIAN_IMAGE:-debian:$PCONN_DEBIAN_RELEASE-slim}
PCONN_DEBIAN_MIRROR=${PCONN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export PCONN_DEBIAN_RELEASE PCONN_DEBIAN_IMAGE

# apt_install PACKAGE...: as root only, like scripts/servers.sh.
apt_install() {
    [[ $(id -u) -eq 0 ]] || ddie "missing: $* (install them, or run as root to have them installed)"
    dlog "installing: $*"
    # Keep maintainer scripts from starting daemons (we start dockerd ourselves).
    local policy=/usr/sbin/policy-rc.d made=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made=1
    fi
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >&2 || rc=$?
    [[ $made -eq 1 ]] && rm -f "$policy"
    [[ $rc -eq 0 ]] || ddie "apt-get failed ($rc)"
}

# A Docker engine that answers: the one DOCKER_HOST or the default socket
# names, else dockerd started here (as root; Debian's docker.io when missing).
ensure_docker() {
    local missing=()
    command -v docker >/dev/null || missing+=(docker.io)
    command -v dockerd >/dev/null || missing+=(docker.io)
    if [[ ${#missing[@]} -gt 0 ]]; then apt_install docker.io; fi
    docker info >/dev/null 2>&1 && return 0
    [[ -z ${DOCKER_HOST:-} ]] || ddie "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST"
    [[ $(id -u) -eq 0 ]] || ddie "no Docker engine is running: start one (e.g. 'sudo service docker start') or run as root"
    local logf=/var/log/pconn-dockerd.log i
    dlog "starting dockerd (log: $logf)"
    setsid nohup dockerd </dev/null >>"$logf" 2>&1 &
    for ((i = 0; i < 120; i++)); do
        docker info >/dev/null 2>&1 && { dlog "dockerd up"; return 0; }
        sleep 0.5
    done
    tail -5 "$logf" >&2 || true
    ddie "dockerd did not come up in 60 s (see $logf)"
}

# The legacy builder when the client has no buildx (Debian's docker.io has
# none; a newer docker CLI refuses to build without it otherwise).
# Output goes to a log, shown when the build fails.
docker_build() {
    local out rc=0
    out=$(mktemp)
    if docker buildx version >/dev/null 2>&1; then
        docker build "$@" >"$out" 2>&1 || rc=$?
    else
        DOCKER_BUILDKIT=0 docker build "$@" >"$out" 2>&1 || rc=$?
    fi
    [[ $rc -eq 0 ]] || { tail -40 "$out" >&2; rm -f "$out"; ddie "docker build $* failed"; }
    rm -f "$out"
}

# COMPOSE: the compose command, v2 plugin or v1 docker-compose.
ensure_compose() {
    if [[ -n ${PCONN_COMPOSE:-} ]]; then
        read -r -a COMPOSE <<<"$PCONN_COMPOSE"
    elif docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    else
        command -v docker-compose >/dev/null || apt_install docker-compose
        COMPOSE=(docker-compose)
    fi
    # Compose v1 builds through the API; no buildx involved either way.
    export COMPOSE_DOCKER_CLI_BUILD=0
}

# The Debian base image: already here, pulled, or made from Debian's
# packages (debootstrap --variant=minbase + docker import) under the same
# name, so the Dockerfiles work unchanged with and without a registry.
ensure_base_image() {
    local image=$PCONN_DEBIAN_IMAGE
    docker image inspect "$image" >/dev/null 2>&1 && return 0
    dlog "pulling $image"
    if timeout 120 docker pull -q "$image" >/dev/null 2>&1; then return 0; fi
    dlog "no registry answers: making $image with debootstrap ($PCONN_DEBIAN_RELEASE, $PCONN_DEBIAN_MIRROR)"
    command -v debootstrap >/dev/null || apt_install debootstrap
    [[ $(id -u) -eq 0 ]] || ddie "debootstrap needs root"
    local dir
    dir=$(mktemp -d /var/tmp/pconn-rootfs.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$dir'" RETURN
    debootstrap --variant=minbase "$PCONN_DEBIAN_RELEASE" "$dir" "$PCONN_DEBIAN_MIRROR" \
        > /var/tmp/pconn-debootstrap.log 2>&1 \
        || { tail -20 /var/tmp/pconn-debootstrap.log >&2; ddie "debootstrap failed"; }
    # Sources as in Debian's own images: the release, its updates, security.
    rm -f "$dir/etc/apt/sources.list"
    local security=${PCONN_DEBIAN_MIRROR%/debian}/debian-security
    cat > "$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $PCONN_DEBIAN_MIRROR
Suites: $PCONN_DEBIAN_RELEASE $PCONN_DEBIAN_RELEASE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $PCONN_DEBIAN_RELEASE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" --numeric-owner -c . |
        docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
    dlog "made $image"
}
