#!/usr/bin/env bash
# Property-based check of the REST API against its own OpenAPI document with schemathesis:
# builds `cogman`, starts `cogman serve` on a free loopback port with a temp SQLite file, an
# admin token and a worker, and runs schemathesis with the checks not_a_server_error,
# response_schema_conformance, status_code_conformance and content_type_conformance (all but
# GET /api/v1/events, the live feed, whose answer never ends: tests/api/events.rs covers it).
# Exits non-zero when schemathesis finds a failure. Installs schemathesis (pinned) if missing.
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 40), SCHEMATHESIS_SEED (default: random),
# SCHEMATHESIS_MAX_TIME (seconds, default 100).
set -euo pipefail
cd "$(dirname "$0")/../../.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-40}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-100}

# --- schemathesis, pinned -------------------------------------------------------------------
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cogman/schemathesis-$SCHEMATHESIS_VERSION"
st=""
if command -v schemathesis >/dev/null 2>&1 && schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  st=$(command -v schemathesis)
elif [ -x "$venv/bin/schemathesis" ]; then
  st="$venv/bin/schemathesis"
else
  echo "schemathesis.sh: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  if python3 -m venv "$venv" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    st="$venv/bin/schemathesis"
  else
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    st=$(command -v schemathesis)
  fi
fi

# --- the server -----------------------------------------------------------------------------
cargo build --quiet -p cogman-cli
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cogman="$target_dir/debug/cogman"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
printf 'admin:%s\n' "$token" > "$work/tokens"
chmod 600 "$work/tokens"

"$cogman" --db "$work/cogman.db" serve --listen 127.0.0.1:0 --token-file "$work/tokens" \
  --handler 'echo=cat' --handler 'fail=exit 3' 2> "$work/server.log" &
server_pid=$!

base=""
for _ in $(seq 1 300); do
  base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -n1 || true)
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "schemathesis.sh: cogman serve exited:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "schemathesis.sh: cogman serve did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "schemathesis.sh: testing $base"

auth="Authorization: Bearer $token"
curl -fsS -H "$auth" "$base/api/v1/openapi.json" -o "$work/openapi.json"

seed_args=()
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then seed_args=(--seed "$SCHEMATHESIS_SEED"); fi

status=0
"$st" run "$work/openapi.json" --url "$base" -H "$auth" -H "X-Cogman-Client: schemathesis" \
  --exclude-path /api/v1/events \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --request-timeout 20 --workers 1 \
  --no-color "${seed_args[@]}" || status=$?

if grep -qi 'panicked' "$work/server.log"; then
  echo "schemathesis.sh: the server panicked:" >&2
  cat "$work/server.log" >&2
  status=1
fi
exit "$status"
