#!/usr/bin/env bash
# Fuzzes Ostiary against the Kratos OpenAPI document with schemathesis, on SQLite and PostgreSQL.
#
# For each backend: build, migrate a fresh database, start `ostiary serve` with a generated config
# (dev, recovery + verification on, bcrypt cost 4), seed identities, sessions, flows and a courier
# message (tests/fuzz/seed.py), then run schemathesis twice: the public operations against the
# public port, the admin operations (`/admin/...`, `/version`, and the health checks again)
# against the admin port. Checks: no 5xx; every status code documented; every body matching its
# documented schema — minus the EXCLUSIONS below. Prints the figures and `fuzz: N passed, M failed`
# ((backend, port, operation) triples); exits non-zero on any failure. See tests/fuzz/README.md.
#
# Environment:
#   FUZZ_EXAMPLES=15        max examples per operation and phase (release check: FUZZ_EXAMPLES=500)
#   FUZZ_MAX_TIME=          optional time budget per schemathesis run, in seconds
#   FUZZ_PHASES=examples,coverage,fuzzing,stateful
#   FUZZ_SEED=1             hypothesis seed; FUZZ_SEED=random for a fresh one each run
#   FUZZ_WORKERS=1          concurrent schemathesis workers (more trip a CPython 3.11 ast thread-safety bug)
#   FUZZ_BACKENDS="sqlite postgres"
#   FUZZ_OUT=target/fuzz    where logs, reports and failures.md go (wiped at start)
#   KRATOS_OPENAPI=../shared/reference/kratos-openapi.json
#   TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test   (an admin connection; the run
#                           creates and drops its own database)
#   CI=true                 a missing spec or an unreachable PostgreSQL fails instead of skipping
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# ---------------------------------------------------------------------------------------------
# EXCLUSIONS: where Ostiary deliberately differs from the spec (DIFFERENCES.md), or Kratos itself
# does not match its spec (../shared/reference/CONTRACT.md §11 and the sections named). One rule a
# line, five TAB-separated fields (format in tests/fuzz/hooks.py):
#   operationId  check  status  where  reason
# A rule absorbs only the failures it matches; everything else still fails the run. Rules that a
# run never exercised are harmless; the summary lists how often each one fired.
# ---------------------------------------------------------------------------------------------
EXCLUSIONS=$(cat <<'EOF'
*	response_schema_conformance	*	/components/schemas/genericError/properties/details	spec bug: `details` has additionalProperties:false, yet Kratos fills it (CSRF hint/docs, validation_errors, redirect_browser_to; CONTRACT §1.6, §6.3)
listSessions	response_schema_conformance	200	null:/components/schemas/identity	Kratos sends "identity": null when not expanded (CONTRACT §2.1, §5.1); the spec does not allow null
getSession	response_schema_conformance	200	null:/components/schemas/identity	Kratos sends "identity": null when not expanded (CONTRACT §2.1, §5.1); the spec does not allow null
listSessions	response_schema_conformance	200	null:/components/schemas/session/properties/devices	Kratos sends "devices": null when not expanded (CONTRACT §2.1, §5.1); the spec does not allow null
getSession	response_schema_conformance	200	null:/components/schemas/session/properties/devices	Kratos sends "devices": null when not expanded (CONTRACT §2.1, §5.1); the spec does not allow null
extendSession	response_schema_conformance	200	null:/components/schemas/session/properties/devices	Kratos's extend answers the session with identity expanded and devices null (CONTRACT §5.1)
updateLoginFlow	response_schema_conformance	400	envelope:The flow query parameter is missing or malformed.	Kratos answers a missing/malformed ?flow= with a 400 error envelope, not a flow (CONTRACT §6.1; no flow to render into)
updateRegistrationFlow	response_schema_conformance	400	envelope:The flow query parameter is missing or malformed.	as updateLoginFlow: 400 error envelope for a missing/malformed ?flow= (CONTRACT §6.1)
updateSettingsFlow	response_schema_conformance	400	envelope:The flow query parameter is missing or malformed.	as updateLoginFlow: 400 error envelope for a missing/malformed ?flow= (CONTRACT §6.1)
updateRecoveryFlow	response_schema_conformance	400	envelope:The flow query parameter is missing or malformed.	as updateLoginFlow: 400 error envelope for a missing/malformed ?flow= (CONTRACT §6.1)
updateVerificationFlow	response_schema_conformance	400	envelope:The flow query parameter is missing or malformed.	as updateLoginFlow: 400 error envelope for a missing/malformed ?flow= (CONTRACT §6.1)
getWebAuthnJavaScript	status_code_conformance	404	*	WebAuthn is not implemented yet, so its browser helper script is not served (DIFFERENCES.md)
createBrowserLogoutFlow	status_code_conformance	303	*	Kratos redirects a plain (non-JSON) browser without a session to the error UI with 303, undocumented (CONTRACT §11.6)
EOF
)

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }
say() { printf '\n== %s ==\n' "$*"; }

SPEC="${KRATOS_OPENAPI:-$ROOT/../shared/reference/kratos-openapi.json}"
if [ ! -f "$SPEC" ]; then
  if is_ci; then
    echo "fuzz: the Kratos OpenAPI document is missing at $SPEC (set KRATOS_OPENAPI)" >&2
    exit 1
  fi
  printf '\n!!! SKIPPING the schemathesis fuzz run: no OpenAPI document at %s (set KRATOS_OPENAPI) !!!\n\n' "$SPEC" >&2
  exit 0
fi
SPEC=$(cd "$(dirname "$SPEC")" && pwd)/$(basename "$SPEC")

EXAMPLES="${FUZZ_EXAMPLES:-15}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
SEED="${FUZZ_SEED:-1}"
WORKERS="${FUZZ_WORKERS:-1}"
BACKENDS="${FUZZ_BACKENDS:-sqlite postgres}"
OUT="${FUZZ_OUT:-$ROOT/target/fuzz}"
PG_ADMIN_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# --- schemathesis -----------------------------------------------------------------------------
PIN=$(grep -E '^schemathesis==' tests/fuzz/requirements.txt | cut -d= -f3)
if ! python3 -c "import sys, importlib.metadata as m; sys.exit(m.version('schemathesis') != '$PIN')" 2>/dev/null; then
  say "installing schemathesis $PIN"
  python3 -m pip install --quiet -r tests/fuzz/requirements.txt
fi
ST="$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))')/schemathesis"
[ -x "$ST" ] || ST=schemathesis

# --- build ------------------------------------------------------------------------------------
say "cargo build"
cargo build --all-targets
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ostiary"

rm -rf "$OUT"
mkdir -p "$OUT"
printf '%s\n' "$EXCLUSIONS" > "$OUT/exclusions.tsv"
export FUZZ_EXCLUSIONS="$OUT/exclusions.tsv" FUZZ_OUT="$OUT"
export SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$ROOT/tests/fuzz${PYTHONPATH:+:$PYTHONPATH}"

SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

RUNS=()
fuzz_port() { # backend, public|admin, base URL
  local backend=$1 side=$2 url=$3 run="$1-$2"
  local filter
  if [ "$side" = public ]; then
    filter=(--exclude-path-regex '^/(admin/|version$)')
  else
    filter=(--include-path-regex '^/(admin/|health/|version$)')
  fi
  local extra=()
  [ "$SEED" = random ] || extra+=(--seed "$SEED")
  [ -z "${FUZZ_MAX_TIME:-}" ] || extra+=(--max-time "$FUZZ_MAX_TIME")
  mkdir -p "$OUT/$run"
  say "schemathesis: $run ($url)"
  RUNS+=("$run")
  # schemathesis exits 1 when a check fails; the summary decides, so keep going.
  (cd "$OUT/$run" && FUZZ_RUN="$run" "$ST" --config-file "$OUT/$backend-schemathesis.toml" run "$SPEC" \
      --url "$url" "${filter[@]}" \
      --checks no_server_error,documented_status_code,documented_response_schema \
      --max-examples "$EXAMPLES" --phases "$PHASES" --workers "$WORKERS" \
      --continue-on-failure --generation-database none --no-color --output-sanitize false --request-timeout 30 \
      --report json,ndjson --report-json-path "$OUT/$run/report.json" \
      --report-ndjson-path "$OUT/$run/events.ndjson" "${extra[@]}" \
      > "$OUT/$run/schemathesis.log" 2>&1) || true
  grep -E '^(  (Selected|Tested)|  [0-9]+ generated|=+ .* in [0-9.]+s)' "$OUT/$run/schemathesis.log" || tail -n 20 "$OUT/$run/schemathesis.log"
}

fuzz_backend() { # sqlite|postgres
  local backend=$1 dsn
  case "$backend" in
    sqlite)
      mkdir -p "$OUT/sqlite-db"
      dsn="sqlite://$OUT/sqlite-db/ostiary.sqlite"
      ;;
    postgres)
      if ! psql "$PG_ADMIN_URL" -qAtc 'select 1' >/dev/null 2>&1; then
        if is_ci; then
          echo "fuzz: CI is set but PostgreSQL at $PG_ADMIN_URL is not reachable" >&2
          exit 1
        fi
        printf '\n!!! SKIPPING the PostgreSQL fuzz run: no server at %s (set TEST_POSTGRES_URL) !!!\n\n' "$PG_ADMIN_URL" >&2
        return 0
      fi
      PG_DB="ostiary_fuzz_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      dsn=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
      ;;
  esac

  local pub adm
  pub=$(free_port)
  adm=$(free_port)
  while [ "$adm" = "$pub" ]; do adm=$(free_port); done
  local cfg="$OUT/$backend-config.json"
  cat > "$cfg" <<JSON
{
  "dev": true,
  "dsn": "$dsn",
  "serve": {
    "public": {"host": "127.0.0.1", "port": $pub, "base_url": "http://127.0.0.1:$pub/"},
    "admin": {"host": "127.0.0.1", "port": $adm, "base_url": "http://127.0.0.1:$adm/"}
  },
  "selfservice": {
    "default_browser_return_url": "http://127.0.0.1:$pub/",
    "methods": {"password": {"config": {"haveibeenpwned_enabled": false}}},
    "flows": {
      "recovery": {"enabled": true},
      "verification": {"enabled": true}
    }
  },
  "courier": {"smtp": {"connection_uri": "smtp://127.0.0.1:9/?disable_starttls=true"}},
  "secrets": {"cookie": ["fuzz-cookie-secret-00000000000000"]},
  "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}
}
JSON

  say "$backend: migrate and start"
  "$BIN" migrate sql "$dsn" --yes
  "$BIN" serve -c "$cfg" > "$OUT/$backend-server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$adm/health/ready" >/dev/null 2>&1 && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "fuzz: the server exited at start:" >&2
      cat "$OUT/$backend-server.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$adm/health/ready" >/dev/null

  mkdir -p "$OUT/$backend-seed"
  python3 tests/fuzz/seed.py "http://127.0.0.1:$pub" "http://127.0.0.1:$adm" "$OUT/$backend-seed"
  cp "$OUT/$backend-seed/schemathesis.toml" "$OUT/$backend-schemathesis.toml"

  # After each port: is the server still up? (kill -0 would not notice: a dead child stays a
  # zombie until waited for.) A dead server fails the run; the summary still runs.
  local side
  for side in public admin; do
    if [ "$side" = public ]; then fuzz_port "$backend" public "http://127.0.0.1:$pub"; else fuzz_port "$backend" admin "http://127.0.0.1:$adm"; fi
    if ! curl -fsS -m 5 "http://127.0.0.1:$adm/health/alive" >/dev/null 2>&1; then
      printf '\n!!! the %s server died during the %s run (log: %s) !!!\n' "$backend" "$side" "$OUT/$backend-server.log" >&2
      tail -n 20 "$OUT/$backend-server.log" >&2 || true
      echo "$backend ($side run)" >> "$OUT/died.txt"
      break
    fi
  done
  cleanup
}

START=$(date +%s)
for backend in $BACKENDS; do
  fuzz_backend "$backend"
done

echo
echo "fuzz: ${EXAMPLES} examples per operation and phase, phases ${PHASES}, seed ${SEED}, $(( $(date +%s) - START ))s; logs in $OUT"
# The summary (it also reports panics found in the server logs) ends with
# `fuzz: N passed, M failed` and exits non-zero on any failure.
exec python3 tests/fuzz/summarize.py "$OUT" "${RUNS[@]}"
