# Entry points for humans and CI. Real test servers run on loopback, started by
# scripts/servers.sh (idempotent: cheap to call before every target).
SHELL := /bin/bash

.PHONY: servers servers-up stop test demo bench bench-scale lint check-servers

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
test: servers-up
	eval "$$(scripts/servers.sh env)" && \
	cargo test --workspace --all-targets && \
	cargo test --workspace --doc

demo: servers-up
	eval "$$(scripts/servers.sh env)" && scripts/demo.sh

bench: servers-up
	@if [[ -x scripts/bench.sh ]]; then \
		eval "$$(scripts/servers.sh env)" && scripts/bench.sh; \
	else \
		echo "scripts/bench.sh does not exist yet" >&2; \
	fi

# Performance at scale (threads, added latency, memory per connection,
# allocations per request, many pool keys): JSON and SVG charts in
# bench/scale/results/. Takes several minutes.
bench-scale: servers-up
	bench/scale/run.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Smoke-test every endpoint with curl/redis-cli/openssl/python (PASS/FAIL lines).
check-servers: servers-up
	@scripts/check_servers.sh
