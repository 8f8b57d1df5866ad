#!/usr/bin/env bash
# What building the workspace needs besides a Rust toolchain: a C compiler
# and the C library headers (ring, the TLS crypto, compiles C and assembly;
# rustc links through `cc`). Checked first; missing pieces are installed
# with apt-get as root, like scripts/servers.sh installs the servers;
# otherwise a message says what to install. Called by `make test`,
# `make demo` and the other make targets that build.
set -euo pipefail

log() { printf 'build-tools: %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null ||
    { log "ERROR: no Rust toolchain (cargo) on PATH: install one, e.g. from https://rustup.rs"; exit 1; }

# A C compiler that can build and link a program: a `cc` without libc
# headers or crt files fails here too.
cc_works() {
    local dir rc=0
    command -v cc >/dev/null || return 1
    dir=$(mktemp -d)
    printf '#include <stdio.h>\nint main(void) { return 0; }\n' > "$dir/t.c"
    cc "$dir/t.c" -o "$dir/t" >/dev/null 2>&1 || rc=1
    rm -rf "$dir"
    return "$rc"
}

cc_works && exit 0

packages=(gcc libc6-dev)
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "ERROR: no working C compiler (cc), needed to build ring (TLS) and to link."
    log "       Install one, e.g. 'sudo apt-get install ${packages[*]}' (Debian/Ubuntu)."
    exit 1
fi
log "installing ${packages[*]} (C compiler for ring and the linker)"
{ DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"; } >&2
cc_works || { log "ERROR: cc still cannot build a program after installing ${packages[*]}"; exit 1; }
