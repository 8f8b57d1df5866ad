#!/usr/bin/env bash
# Runs the SMTP benchmark pinned to CPU 0 (see docs/BENCHMARKING.md)
# against a Postfix smtp-sink it starts on a free loopback port, also pinned.
#   bench/smtp/run.sh [--mails N] [--rounds R]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
[[ -x $SINK ]] || { echo "smtp-sink not found (apt-get install postfix)" >&2; exit 1; }
cargo build -q --release
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# -u: smtp-sink refuses to keep root privileges; 1000 is the listen backlog.
user=$(id -u)
if [[ $user == 0 ]]; then uopt=(-u nobody); else uopt=(); fi
taskset -c 0 "$SINK" "${uopt[@]}" "127.0.0.1:$port" 1000 &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
taskset -c 0 target/release/bench-smtp --port "$port" "$@"
