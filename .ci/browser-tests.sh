#!/usr/bin/env bash
# Browser tests of the web UI: installs what is missing (Debian's chromium, the pinned
# playwright-core from package-lock.json; never a downloaded browser), builds the cogman binary,
# serves the API and UI on a free loopback port with a temporary database, an admin and a
# read-only token and two shell handlers (plus a second server without tokens), runs node's
# test runner on crates/cogman-api/tests/browser/*.test.js in headless Chromium, stops the
# servers, and exits non-zero on any failure. Screenshots go to $UI_TEST_SCREENSHOTS (default: a new temp folder,
# printed at the end). The tests read UI_TEST_* variables: cogman refuses unknown COGMAN_ ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TESTS=crates/cogman-api/tests/browser
export DEBIAN_FRONTEND=noninteractive

# --- tools ---------------------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  echo "browser-tests: installing chromium"
  if ! apt-cache show chromium >/dev/null 2>&1 || ! apt-get install -y -q chromium; then
    apt-get update -q
    apt-get install -y -q chromium
  fi
fi
if ! command -v sqlite3 >/dev/null; then
  # The dead-letter tests dead-letter a waiting task in the server's file as its queue does.
  echo "browser-tests: installing sqlite3"
  apt-get install -y -q sqlite3 || { apt-get update -q && apt-get install -y -q sqlite3; }
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser-tests: installing node and npm"
  apt-get install -y -q nodejs npm || { apt-get update -q && apt-get install -y -q nodejs npm; }
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "browser-tests: FATAL: node $(node --version) is too old; playwright-core needs node 20 or newer" >&2
  exit 1
fi
(cd "$TESTS" && npm ci --no-audit --no-fund --loglevel=error)

cargo build -p cogman-cli
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => console.log(JSON.parse(s).target_directory))')
COGMAN="$TARGET_DIR/debug/cogman"

# --- the servers ---------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cogman-browser.XXXXXX")
SHOTS=${UI_TEST_SCREENSHOTS:-$(mktemp -d "${TMPDIR:-/tmp}/cogman-screenshots.XXXXXX")}
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

random_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ADMIN_TOKEN=$(random_token)
READ_TOKEN=$(random_token)
printf 'admin:%s\nread:%s\n' "$ADMIN_TOKEN" "$READ_TOKEN" > "$WORK/tokens"
chmod 600 "$WORK/tokens"

healthy() {
  node -e 'const deadline = Date.now() + 20000;
    (async function check() {
      try { if ((await fetch(process.argv[1])).ok) process.exit(0); } catch {}
      if (Date.now() > deadline) process.exit(1);
      setTimeout(check, 100);
    })();' "$1/api/v1/healthz"
}

# start VAR NAME ARGS...: runs `cogman serve` on 127.0.0.1:0 (the kernel picks a free port;
# the server prints the address it got) and sets VAR to its base URL once /healthz answers.
start() {
  local var=$1 name=$2 log="$WORK/$2.log" url=
  shift 2
  "$COGMAN" serve --listen 127.0.0.1:0 --db "$WORK/$name.db" "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    url=$(sed -n 's#.*listening on \(http://127\.0\.0\.1:[0-9]*\).*#\1#p' "$log" | head -n1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ] || ! healthy "$url"; then
    echo "browser-tests: FATAL: cogman serve ($name) did not start; its log:" >&2
    cat "$log" >&2
    return 1
  fi
  echo "browser-tests: $name server at $url (pid $pid)"
  printf -v "$var" '%s' "$url"
}

# The main server: tokens and a worker with one handler that succeeds and one that fails; a task
# no handler takes fails after 2 s (handler_wait) instead of the default hour.
export COGMAN_HANDLER_WAIT=2s
start URL main --token-file "$WORK/tokens" \
  --handler 'echo=cat' \
  --handler 'fail=echo "boom: $(cat)" >&2; exit 3' || exit 1
unset COGMAN_HANDLER_WAIT
# A server without tokens (allowed on loopback only), API only.
start OPEN_URL open --no-worker || exit 1

# --- the tests -----------------------------------------------------------------------------
status=0
(
  cd "$TESTS"
  UI_TEST_URL="$URL" UI_TEST_OPEN_URL="$OPEN_URL" UI_TEST_ADMIN_TOKEN="$ADMIN_TOKEN" UI_TEST_READ_TOKEN="$READ_TOKEN" \
    UI_TEST_DB="$WORK/main.db" UI_TEST_SCREENSHOTS="$SHOTS" CHROMIUM=/usr/bin/chromium \
    timeout 300 node --test --test-concurrency=1 ./*.test.js
) || status=$?

if [ "$status" -ne 0 ]; then
  echo "browser-tests: FAILED (exit $status); last lines of the server log:" >&2
  tail -n 40 "$WORK/main.log" >&2
fi
echo "browser-tests: screenshots in $SHOTS"
cd "$ROOT"
exit "$status"
