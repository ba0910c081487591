#!/usr/bin/env bash
# TLS benchmark: what HTTPS costs, with wrk (Debian package `wrk`) against the release
# binary serving the demo shop twice from one scratch data folder: over plain HTTP and
# over TLS with the generated development certificate (`serve --self-signed`).
#
#   bench/tls.sh                      # kept-alive connections, then a handshake per request
#   DURATION=30s CONNECTIONS=64 bench/tls.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PLAIN=${PLAIN:-127.0.0.1:8097}
SECURE=${SECURE:-127.0.0.1:8098}

# shellcheck source=bench/wrk.sh
source bench/wrk.sh
LABEL_WIDTH=48

cargo build --release --locked --quiet
bin=./target/release/securecart
data=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"' EXIT

# Rate limits are raised for the run: they would otherwise answer most requests 429.
export SECURECART_LOG=warn SECURECART_API_READS_PER_MINUTE=100000000
"$bin" --data-dir "$data" serve --demo --bind "$PLAIN" >/dev/null &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsS "http://$PLAIN/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" --data-dir "$data" serve --self-signed --bind "$SECURE" >/dev/null &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsSk "https://$SECURE/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "SecureCart $("$bin" --version | cut -d' ' -f2), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
run "GET /api/v1/products/1 http, kept alive" "http://$PLAIN/api/v1/products/1"
run "GET /api/v1/products/1 https, kept alive" "https://$SECURE/api/v1/products/1"
run "GET /healthz https, new handshake each" -H "connection: close" "https://$SECURE/healthz"
