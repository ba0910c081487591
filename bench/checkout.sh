#!/usr/bin/env bash
# Checkout benchmark: paid orders per second when many customers check out at once,
# each through the whole flow (add to cart, shipping, payment page, order POST).
#
#   bench/checkout.sh                                   # SQLite in a scratch folder
#   BUYERS=32 DURATION=30 bench/checkout.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1/securecart_bench bench/checkout.sh
#
# The PostgreSQL database must exist and is used as is (the benchmark adds customers
# and sets every product's stock high).
set -euo pipefail
cd "$(dirname "$0")/.."

BUYERS=${BUYERS:-16}
DURATION=${DURATION:-20}
BIND=${BIND:-127.0.0.1:8097}

cargo build --release --locked --quiet --bin securecart --example checkout_load
data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

url=${DATABASE_URL:-sqlite://$data/securecart.db?mode=rwc}
SECURECART_LOG=warn SECURECART_DATABASE_URL="$url" \
  ./target/release/securecart --data-dir "$data" serve --demo --bind "$BIND" >/dev/null &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://$BIND/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

echo "SecureCart checkout, $(nproc) cores, ${url%%:*}, $BUYERS buyers for ${DURATION}s"
./target/release/examples/checkout_load "http://$BIND" "$url" "$BUYERS" "$DURATION"
