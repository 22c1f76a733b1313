#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the black-box API suite on SQLite and PostgreSQL, a
# bounded schemathesis run against the Kratos OpenAPI spec, and the official-SDK compatibility
# suites. PostgreSQL is expected at TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test); each test creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The courier tests deliver to a real SMTP server (aiosmtpd), started by the tests themselves.
python3 -c "import aiosmtpd" 2>/dev/null || python3 -m pip install --quiet -r tests/smtp/requirements.txt

echo "== Rust suites (unit, API on SQLite + PostgreSQL, Rust SDK) =="
cargo test --all-targets --no-fail-fast

echo "== Fuzzing against the OpenAPI spec (schemathesis, bounded, both backends) =="
bash tests/fuzz/run.sh

if [ -x tests/browser/run.sh ]; then
  echo "== Browser suite (@ory/client in headless Chromium) =="
  tests/browser/run.sh
fi
