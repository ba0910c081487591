#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with schemathesis (PyPI), all
# checks, as a verified customer with a bearer token. Any failure exits non-zero.
#
#   scripts/api-fuzz.sh                     # 50 examples per operation
#   MAX_EXAMPLES=200 scripts/api-fuzz.sh
#   SECURECART_BIN=target/release/securecart scripts/api-fuzz.sh
#
# schemathesis is installed, pinned, into target/schemathesis-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
BIND=${BIND:-127.0.0.1:8097}
BIN=${SECURECART_BIN:-target/debug/securecart}
VENV=target/schemathesis-venv
EMAIL=fuzz@example.com
PASSWORD="fuzzing is not a password $RANDOM$RANDOM"

if [ "$BIN" = target/debug/securecart ]; then
  cargo build --locked --quiet
fi
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

data=$(mktemp -d)
server=""
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
export SECURECART_DATA_DIR="$data"
"$BIN" migrate >/dev/null

# A verified customer, written straight into the database with a Django-format hash.
python3 - "$data/securecart.db" "$EMAIL" "$PASSWORD" <<'PY'
import base64, hashlib, os, sqlite3, sys, time
db, email, password = sys.argv[1:4]
salt = base64.b64encode(os.urandom(12)).decode().rstrip("=").replace("+", "a").replace("/", "b")
iterations = 600000
digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
hashed = f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"
now = int(time.time() * 1000)
with sqlite3.connect(db) as conn:
    conn.execute(
        "INSERT INTO users (email, email_key, password_hash, role, email_verified_at, "
        "security_stamp, created_at, updated_at) VALUES (?, ?, ?, 'customer', ?, ?, ?, ?)",
        (email, email.lower(), hashed, now, os.urandom(16).hex(), now, now),
    )
PY

# Rate limits high enough for a fuzzer; they have their own tests.
SECURECART_LOG=warn SECURECART_API_AUTH_PER_MINUTE=100000 \
  SECURECART_API_READS_PER_MINUTE=1000000 SECURECART_API_WRITES_PER_MINUTE=1000000 \
  "$BIN" serve --demo --bind "$BIND" >"$data/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$BIND/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

token=$(curl -fsS -X POST "http://$BIND/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

status=0
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "http://$BIND/api/openapi.json" \
  --url "http://$BIND" \
  --checks all \
  --max-examples "$MAX_EXAMPLES" \
  --workers 2 \
  --header "Authorization: Bearer $token" || status=$?

if grep -q '"level":"ERROR"\|ERROR' "$data/server.log"; then
  echo "the server logged errors during the run:" >&2
  grep 'ERROR' "$data/server.log" | head -n 20 >&2
  status=1
fi
exit "$status"
