#!/usr/bin/env bash
# Browser end-to-end test: @ory/client in headless Chromium, a single-page app on another origin
# logging in and out against Ostiary on SQLite and PostgreSQL. Installs what it needs if missing
# (Debian's chromium, the pinned npm packages), builds the server, runs node's test runner.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "== installing Debian's chromium (apt-get) =="
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM_PATH" --version 2>/dev/null || true

# Node 20+ (playwright-core's minimum) with npm comes with the machine; say so plainly if not.
if ! command -v npm >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; then
  echo "tests/browser/run.sh: needs node >= 20 and npm on PATH (found: $(node --version 2>&1 || true))" >&2
  exit 1
fi

# The pinned npm packages (package-lock.json); reinstall only when the lock file changed.
cd "$here"
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.ostiary-installed-lock; then
  echo "== npm ci (tests/browser) =="
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.ostiary-installed-lock
fi

echo "== cargo build (server binary) =="
cd "$root"
cargo build --quiet --bin ostiary
export OSTIARY_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/ostiary"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

echo "== node --test tests/browser/ =="
node --test tests/browser/
