#!/usr/bin/env bash
# Sales analytics benchmark: how long /admin/analytics (and its CSV) take over many
# orders. Seeds ORDERS orders over the last 365 days with examples/seed_orders.rs,
# signs in as an administrator and times each period RUNS times.
#
#   bench/analytics.sh                                  # 1,000,000 orders, SQLite
#   ORDERS=100000 RUNS=3 bench/analytics.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1/securecart_bench bench/analytics.sh
#
# The PostgreSQL database must exist; the benchmark adds customers and orders to it.
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS=${ORDERS:-1000000}
RUNS=${RUNS:-5}
BIND=${BIND:-127.0.0.1:8098}
EMAIL=bench-admin@example.com
PASSWORD='plum sofa lantern 4821'

cargo build --release --locked --quiet --bin securecart --example seed_orders
data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
url=${DATABASE_URL:-sqlite://$data/securecart.db?mode=rwc}
export SECURECART_DATABASE_URL="$url" SECURECART_LOG=warn

./target/release/examples/seed_orders "$url" "$ORDERS"
SECURECART_ADMIN_PASSWORD="$PASSWORD" \
  ./target/release/securecart --data-dir "$data" create-admin --email "$EMAIL" >/dev/null
./target/release/securecart --data-dir "$data" serve --bind "$BIND" >/dev/null &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://$BIND/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

jar="$data/cookies"
token=$(curl -fsS -c "$jar" -b "$jar" "http://$BIND/account/login" |
  sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fsS -o /dev/null -c "$jar" -b "$jar" "http://$BIND/account/login" \
  --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
  --data-urlencode "csrf_token=$token"

curl -fsS -b "$jar" "http://$BIND/admin/analytics" | grep -q "Sales analytics" ||
  { echo "could not sign in to the back office" >&2; exit 1; }

today=$(date -u +%F)
echo "SecureCart analytics, $(nproc) cores, ${url%%:*}, $ORDERS orders, best and median of $RUNS"
for period in "default (30 days)|" \
  "90 days|from=$(date -u -d "$today - 89 days" +%F)&to=$today" \
  "366 days|from=$(date -u -d "$today - 365 days" +%F)&to=$today"; do
  name=${period%%|*}
  query=${period#*|}
  for path in "/admin/analytics" "/admin/analytics.csv"; do
    times=()
    for _ in $(seq 1 "$RUNS"); do
      times+=("$(curl -fsS -o /dev/null -b "$jar" -w '%{time_total}' "http://$BIND$path?$query")")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    best=$(head -n1 <<<"$sorted")
    median=$(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")
    printf '%-20s %-22s best %6.0f ms   median %6.0f ms\n' "$name" "$path" \
      "$(echo "$best * 1000" | bc)" "$(echo "$median * 1000" | bc)"
  done
done
