#!/usr/bin/env bash
# Load benchmark: builds the release binary, serves the demo shop from a scratch data
# folder and measures requests per second with wrk (Debian package `wrk`).
#
#   bench/run.sh                 # front page, product list, product page, search
#   DURATION=30s CONNECTIONS=64 THREADS=2 bench/run.sh
#   PRODUCTS=100000 bench/run.sh # also seed that many generated products first
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PRODUCTS=${PRODUCTS:-0}
BIND=${BIND:-127.0.0.1:8099}

if ! command -v wrk >/dev/null; then
  echo "wrk is not installed: apt-get install -y wrk" >&2
  exit 1
fi

cargo build --release --locked --quiet
data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

if [ "$PRODUCTS" -gt 0 ]; then
  ./target/release/securecart --data-dir "$data" seed-demo --products "$PRODUCTS" --categories 20
fi
SECURECART_LOG=warn ./target/release/securecart --data-dir "$data" serve --demo --bind "$BIND" >/dev/null &
server=$!
for _ in $(seq 1 50); do
  curl -fsS "http://$BIND/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

slug=$(curl -fsS "http://$BIND/" | grep -o 'href="/products/[a-z0-9-]*"' | head -n 1 | cut -d/ -f3 | tr -d '"')
echo "SecureCart $(./target/release/securecart --version | cut -d' ' -f2), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
for path in "/" "/products" "/products?sort=price-asc&page=2" "/products/$slug" "/products?q=board" "/static/app.css"; do
  result=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://$BIND$path")
  rps=$(echo "$result" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$result" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$result" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$result" | grep -E 'Non-2xx|Socket errors' || true)
  printf '%-36s %10s req/s   p50 %-8s p99 %-8s %s\n' "$path" "$rps" "$p50" "$p99" "$errors"
done
