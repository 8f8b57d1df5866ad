# A fresh Debian machine for scripts/fresh-machine.sh: the base image plus
# `make`, the one tool the README's two commands are typed into. The Rust
# toolchain is the host's, mounted read-only at run time; everything else
# (C compiler, servers, openssl, ...) `make demo` / `make test` must
# install themselves.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
