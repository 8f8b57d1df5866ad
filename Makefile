# Entry points for humans and CI. Real test servers run on loopback, started by
# scripts/servers.sh (idempotent: cheap to call before every target).
SHELL := /bin/bash

.PHONY: servers servers-up stop test test-suite demo bench bench-scale lint doc-check publish-check check-servers build-tools chaos soak fuzz

# Start (or repair) the servers, then print the `export PCONN_...` lines:
#   eval "$(make -s servers)"
servers: servers-up
	@scripts/servers.sh env

# Start only; progress on stderr, nothing on stdout.
servers-up:
	@scripts/servers.sh start >&2

stop:
	@scripts/servers.sh stop

# Env vars already set by the caller win over the loopback defaults (see
# scripts/servers.sh env), so the same tests run against servers elsewhere.
test: build-tools servers-up
	eval "$$(scripts/servers.sh env)" && $(MAKE) --no-print-directory test-suite

# The whole test suite against the servers the PCONN_* variables name
# (make test: the native ones; make docker-test: the containers).
test-suite: build-tools
	cargo test --workspace --all-targets --no-fail-fast && \
	cargo test --workspace --doc

# A C compiler for ring and the linker: checked, apt-get as root, or a message.
build-tools:
	@scripts/build-tools.sh

demo: build-tools servers-up
	eval "$$(scripts/servers.sh env)" && scripts/demo.sh

bench: build-tools servers-up
	@if [[ -x scripts/bench.sh ]]; then \
		eval "$$(scripts/servers.sh env)" && scripts/bench.sh; \
	else \
		echo "scripts/bench.sh does not exist yet" >&2; \
	fi

# Performance at scale (threads, added latency, memory per connection,
# allocations per request, many pool keys): JSON and SVG charts in
# bench/scale/results/. Takes several minutes.
bench-scale: build-tools servers-up
	bench/scale/run.sh

lint: build-tools
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The docs as docs.rs builds them (every feature on): a broken intra-doc
# link, a bare URL or any other rustdoc warning fails.
doc-check: build-tools
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

# Every crate packaged and built from its .crate file as crates.io would,
# in dependency order; cargo >= 1.90 resolves the pconn-* dependencies from
# the packages it just made, so this passes before any is published. Needs
# the crates.io index. --allow-dirty: checks the files as they are, committed
# or not.
# Cargo treats a registry package of a given version as immutable: it
# reuses the extract in $CARGO_HOME/registry/src and the compiled library in
# target/ that a previous run made of our packages. Remove both first, or a
# second run verifies against the first run's sources.
publish-check: build-tools
	@rm -rf target/package "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/*/pconn-*-[0-9]*
	@for p in pconn-transport pconn-proxy pconn-http pconn-redis pconn-smtp; do cargo clean -q -p $$p; done
	@if cargo publish --help | grep -q -- --workspace; then \
		set -x; cargo publish --workspace --dry-run --allow-dirty; \
	else \
		set -x; cargo package --workspace --allow-dirty; \
	fi

# Smoke-test every endpoint with curl/redis-cli/openssl/python (PASS/FAIL lines).
check-servers: servers-up
	@scripts/check_servers.sh

# --- docker (compose.yaml; docker/compose.sh) --------------------------------
.PHONY: docker-up docker-down docker-test
# The same servers in containers, on the same loopback ports (stop the
# native ones first: make stop). docker-up waits until all are healthy;
# then eval "$$(docker/compose.sh env)" for the PCONN_* variables.
docker-up:
	@docker/compose.sh up

docker-down:
	@docker/compose.sh down

# Build, start, wait healthy, run the whole suite (test-suite) against the
# containers, stop them (also on failure).
docker-test: build-tools
	@docker/compose.sh test

# Reliability runs (issue 11). Each prints ONE JSON line of figures.
#   make chaos  CHAOS_SECONDS=300 CHAOS_THREADS=8 [CHAOS_SEED=n to replay]
#   make soak   SOAK_SECONDS=600
#   make fuzz   FUZZ_SECONDS=60 per target (cargo-fuzz on nightly)
chaos: servers-up
	eval "$$(scripts/servers.sh env)" && scripts/chaos.sh chaos

soak: servers-up
	eval "$$(scripts/servers.sh env)" && scripts/chaos.sh soak

fuzz:
	scripts/fuzz.sh
