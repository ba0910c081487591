#!/usr/bin/env bash
# Login benchmark at the real PBKDF2 cost: latency of one login, logins per second
# under parallel load, and the catalogue's p99 with and without a login storm.
#
#   bench/login.sh                      # default cost (SECURECART_PBKDF2_ITERATIONS unset)
#   LOGINS=40 PARALLEL=8 bench/login.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LOGINS=${LOGINS:-24}
PARALLEL=${PARALLEL:-4}
DURATION=${DURATION:-10s}
BIND=${BIND:-127.0.0.1:8098}
export BASE="http://$BIND" EMAIL="bench@example.com" PASSWORD="correct horse battery staple"

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked --quiet
data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT

SECURECART_ADMIN_PASSWORD="$PASSWORD" ./target/release/securecart --data-dir "$data" \
  create-admin --email "$EMAIL" >/dev/null
SECURECART_LOG=warn ./target/release/securecart --data-dir "$data" serve --demo --bind "$BIND" >/dev/null &
server=$!
for _ in $(seq 1 50); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# One login as a browser does it: fetch the form (token and cookie), post it.
login() {
  local jar token
  jar=$(mktemp)
  token=$(curl -s -c "$jar" -b "$jar" "$BASE/account/login" |
    grep -o 'name="csrf_token" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -c "$jar" -b "$jar" \
    --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf_token=$token" "$BASE/account/login"
  rm -f "$jar"
}
export -f login

summary() { # status/time lines on stdin -> "n ok, mean, p50, max" in ms
  awk '{ if ($1 == 303) ok++; t[NR] = $2 * 1000; s += t[NR] } END {
    n = asort(t); printf "%d logins, %d ok, mean %.0f ms, p50 %.0f ms, max %.0f ms\n",
    n, ok, s / n, t[int((n + 1) / 2)], t[n] }'
}

echo "SecureCart, $(nproc) cores, PBKDF2 iterations: ${SECURECART_PBKDF2_ITERATIONS:-1200000 (default)}"
echo -n "sequential:            "; seq "$LOGINS" | xargs -P 1 -I{} bash -c login | summary
start=$(date +%s.%N)
echo -n "parallel ($PARALLEL at once):   "; seq "$LOGINS" | xargs -P "$PARALLEL" -I{} bash -c login | summary
end=$(date +%s.%N)
echo "logins per second:     $(echo "$LOGINS / ($end - $start)" | bc -l | cut -c1-5)"

p99() { wrk -t2 -c16 -d"$DURATION" --latency "$BASE/" | awk '/Requests\/sec/ {r=$2} $1 == "99%" {p=$2} END {print r " req/s, p99 " p}'; }
echo "catalogue alone:       $(p99)"
( while true; do seq "$PARALLEL" | xargs -P "$PARALLEL" -I{} bash -c login >/dev/null; done ) &
storm=$!
sleep 1
echo "catalogue during storm: $(p99)"
kill "$storm" 2>/dev/null || true
wait "$storm" 2>/dev/null || true

# Enumeration by timing: a wrong password for a real account and any password for an
# unknown one should cost the same (the unknown one verifies a dummy hash). Kept under
# the lockout (5) and address (20) thresholds.
wrong() { EMAIL="$1" PASSWORD="not the password at all" login; }
export -f wrong
timing() { awk '{ t[NR] = $2 * 1000; s += t[NR] } END { n = asort(t); printf "mean %.0f ms, p50 %.0f ms (%d tries, status %s)\n", s / n, t[int((n + 1) / 2)], n, $1 }'; }
echo -n "wrong password, known: "; seq 4 | xargs -I{} bash -c 'wrong bench@example.com' | timing
echo -n "unknown email:         "; seq 8 | xargs -I{} bash -c 'wrong nobody@example.com' | timing
