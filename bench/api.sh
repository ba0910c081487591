#!/usr/bin/env bash
# API benchmark: requests per second on the JSON API with wrk (Debian package `wrk`),
# against the release binary serving the demo shop from a scratch data folder.
#
#   bench/api.sh                       # public catalogue, authenticated cart and orders
#   DURATION=30s CONNECTIONS=64 bench/api.sh
#
# Rate limits are raised for the run: they would otherwise answer most requests 429.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
BIND=${BIND:-127.0.0.1:8096}
EMAIL=bench@example.com
PASSWORD="loaded wagon $RANDOM$RANDOM under a grey sky"

# shellcheck source=bench/wrk.sh
source bench/wrk.sh

cargo build --release --locked --quiet
bin=./target/release/securecart
data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

SECURECART_ADMIN_PASSWORD="$PASSWORD" SECURECART_LOG=warn "$bin" --data-dir "$data" create-admin --email "$EMAIL" >/dev/null
SECURECART_LOG=warn SECURECART_API_READS_PER_MINUTE=100000000 \
  SECURECART_API_WRITES_PER_MINUTE=100000000 \
  "$bin" --data-dir "$data" serve --demo --bind "$BIND" >/dev/null &
server=$!
for _ in $(seq 1 50); do
  curl -fsS "http://$BIND/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
token=$(curl -fsS -X POST "http://$BIND/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
curl -fsS -X POST "http://$BIND/api/v1/cart/items" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"product_id": 1, "quantity": 2}' >/dev/null

echo "SecureCart $("$bin" --version | cut -d' ' -f2), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
run "GET /api/v1/products" "http://$BIND/api/v1/products"
run "GET /api/v1/products?q=board" "http://$BIND/api/v1/products?q=board"
run "GET /api/v1/products/1" "http://$BIND/api/v1/products/1"
run "GET /api/v1/cart (bearer)" -H "authorization: Bearer $token" "http://$BIND/api/v1/cart"
run "GET /api/v1/orders (bearer)" -H "authorization: Bearer $token" "http://$BIND/api/v1/orders"
