#!/usr/bin/env bash
# The README's two commands on a fresh machine: clone this repository
# (its committed HEAD) into a fresh Debian container that has only a Rust
# toolchain (the host's, mounted read-only) and `make`, then run
# `make demo` and `make test` there, as a new user would. A missing install
# step fails here instead of on a user's machine. CI runs it.
#
#   scripts/fresh-machine.sh
#
#   PCONN_RUST_TOOLCHAIN  toolchain dir to mount (default: `rustc --print sysroot`)
#   PCONN_FRESH_COLD=1    build from nothing: by default the container starts
#                         with a copy of this checkout's target/ and the
#                         host's crate downloads (compile cache only: every
#                         package and tool is still installed by the make
#                         targets themselves), so CI stays within its time
#   PCONN_DEBIAN_RELEASE, PCONN_DEBIAN_IMAGE: see docker/lib.sh
#
# The container has its own network namespace (Docker's default bridge),
# so its servers use its own loopback, whatever runs on the host's. It
# trusts the host's CA bundle (mounted; CARGO_HTTP_CAINFO) to reach crates.io.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=../docker/lib.sh
source docker/lib.sh
ROOT=$DOCKER_ROOT
IMAGE=pconn-fresh-machine

toolchain=${PCONN_RUST_TOOLCHAIN:-$(rustc --print sysroot 2>/dev/null || true)}
[[ -x $toolchain/bin/cargo && -x $toolchain/bin/rustc ]] ||
    ddie "no Rust toolchain to mount (set PCONN_RUST_TOOLCHAIN to a dir with bin/cargo and bin/rustc)"
cabundle=/etc/ssl/certs/ca-certificates.crt

ensure_docker
ensure_base_image
dlog "building $IMAGE (cached)"
docker_build --network host -f docker/fresh-machine.Dockerfile \
    --build-arg DEBIAN_IMAGE="$PCONN_DEBIAN_IMAGE" -t "$IMAGE" docker

[[ -z $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] ||
    dlog "note: uncommitted changes are not part of the clone"
work=$(mktemp -d /var/tmp/pconn-fresh.XXXXXX)
name=pconn-fresh-machine-$$
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
git clone -q --no-hardlinks "$ROOT" "$work/pconn"
dlog "cloned $(git -C "$work/pconn" log -1 --format='%h %s' | cut -c1-72)"

mounts=(-v "$work/pconn:/root/pconn" -v "$toolchain:/opt/rust:ro")
registry=${CARGO_HOME:-$HOME/.cargo}/registry
if [[ ${PCONN_FRESH_COLD:-0} != 1 && -d $ROOT/target && -d $registry ]]; then
    dlog "seeding the build cache (target/ and crate downloads; PCONN_FRESH_COLD=1 to skip)"
    cp -a "$ROOT/target" "$work/pconn/target"
    mkdir -p "$work/cargo"
    cp -a "$registry" "$work/cargo/registry"
    mounts+=(-v "$work/cargo/registry:/root/.cargo/registry")
fi
envs=(-e PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
[[ -n ${CARGO_INCREMENTAL:-} ]] && envs+=(-e "CARGO_INCREMENTAL=$CARGO_INCREMENTAL")
if [[ -r $cabundle ]]; then
    mounts+=(-v "$cabundle:/etc/pconn-host-ca.crt:ro")
    envs+=(-e CARGO_HTTP_CAINFO=/etc/pconn-host-ca.crt)
fi

start=$SECONDS
dlog "running 'make demo' then 'make test' in a fresh $PCONN_DEBIAN_IMAGE container"
rc=0
docker run --rm --name "$name" "${mounts[@]}" "${envs[@]}" -w /root/pconn \
    --sysctl net.ipv6.conf.all.disable_ipv6=0 \
    "$IMAGE" bash -c 'set -e; make demo; make test' || rc=$?
dlog "fresh machine: exit $rc after $((SECONDS - start)) s"
exit "$rc"
