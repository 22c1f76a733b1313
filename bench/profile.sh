#!/usr/bin/env bash
# Where the time goes in whoami and login (the profiling notes of BENCHMARKS.md):
# `bash bench/profile.sh`.
#
# 1. Instruction counts per request with valgrind's callgrind (deterministic, unlike timings on a
#    shared machine): the server runs under callgrind with instrumentation off until it is ready
#    and warmed up, then on for a bounded wrk run; total instructions ÷ requests served = the cost
#    of one request, and callgrind_annotate's inclusive list says where it goes. Scenarios: the
#    bare baseline's whoami; Ostiary's whoami by token and by cookie on SQLite (also with SQLite
#    STAT4 statistics present); whoami on PostgreSQL (the Ostiary process only); native login.
# 2. If `perf` can sample (cpu-clock, system-wide), the CPU split between Ostiary's threads, the
#    database and wrk under the real 64-connection whoami load, on SQLite and on PostgreSQL.
#
# Output: bench/out/profile-<timestamp>/ (summary.txt, *.top.txt, raw callgrind files).
# Environment: CARGO_TARGET_DIR, BENCH_POSTGRES_URL, BENCH_PORT (default 14533).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
PORT=${BENCH_PORT:-14533}
PUB=$PORT ADM=$((PORT + 1)) BASE=$((PORT + 2))
PASSWORD=bench-password-0123
SECRET=ostiary-bench-cookie-secret-0123456789
OUT=$ROOT/bench/out/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
log() { printf '[profile %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PIDS=()
PG_DB=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$PG_DB" ] && [ -x "${TOOL:-}" ]; then
    "$TOOL" sql --dsn "$PG_URL" --query "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in wrk valgrind callgrind_annotate curl jq; do
  command -v $t >/dev/null || die "$t is needed (apt-get install wrk valgrind curl jq)"
done
log "building release binaries into $TARGET"
CARGO_TARGET_DIR=$TARGET cargo build --release --quiet --bin ostiary --example bench_baseline --example bench_tool
OSTIARY=$TARGET/release/ostiary
TOOL=$TARGET/release/examples/bench_tool
BASELINE=$TARGET/release/examples/bench_baseline
export RUST_LOG=warn

config() { # config <dsn> <file>
  cat >"$2" <<EOF
dsn: $1
serve:
  public: {host: 127.0.0.1, port: $PUB, base_url: "http://127.0.0.1:$PUB/"}
  admin: {host: 127.0.0.1, port: $ADM, base_url: "http://127.0.0.1:$ADM/"}
selfservice:
  default_browser_return_url: "http://127.0.0.1:$PUB/"
  methods: {password: {config: {haveibeenpwned_enabled: false}}}
secrets: {cookie: ["$SECRET"]}
hashers: {algorithm: bcrypt, bcrypt: {cost: 12}}
EOF
}

prepare() { # prepare <dsn> <dir> [analyze]
  "$OSTIARY" migrate sql "$1" --yes >/dev/null
  "$TOOL" seed --dsn "$1" --identities 1000 --sessions-per 10 --t0 $(( ($(date +%s) - 86400) * 1000000 )) \
    --tokens-out "$2/tokens.tsv" --cookie-secret "$SECRET" --password "$PASSWORD" --analyze "${3:-0}" >/dev/null
}

wait_port() { # wait_port <port> <pid> <tries of 0.5 s>
  local i
  for i in $(seq "$3"); do
    kill -0 "$2" 2>/dev/null || die "process $2 exited"
    curl -fs -o /dev/null "http://127.0.0.1:$1/health/ready" && return 0
    sleep 0.5
  done
  die "port $1 not ready"
}

# callgrind_run <name> <port> <command…> -- <wrk args…>: instructions per request
callgrind_run() {
  local name=$1 port=$2; shift 2
  local cmd=() wrkargs=()
  while [ "$1" != -- ]; do cmd+=("$1"); shift; done
  shift; wrkargs=("$@")
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$name.cg" \
    "${cmd[@]}" >"$OUT/$name.log" 2>&1 &
  local vp=$!; PIDS+=("$vp")
  wait_port "$port" "$vp" 240
  wrk "${wrkargs[@]}" -d3s >/dev/null 2>&1 || true   # warm-up: connections, statement caches
  callgrind_control -i on "$vp" >/dev/null 2>&1
  local line
  line=$(wrk "${wrkargs[@]}" 2>&1 | sed -n 's/^JSON //p' | tail -1)
  callgrind_control -i off "$vp" >/dev/null 2>&1
  kill -TERM "$vp"; wait "$vp" 2>/dev/null || true
  local total reqs
  total=$(awk '/^totals:/ {print $2}' "$OUT/$name.cg" | tail -1)
  reqs=$(jq -r .requests <<<"$line")
  { callgrind_annotate --inclusive=yes "$OUT/$name.cg" 2>/dev/null | sed -n '/file:function/,$p' \
    | sed 's/\[\/[^]]*\]//' | cut -c1-200 | head -80 >"$OUT/$name.top.txt"; } || true
  { callgrind_annotate "$OUT/$name.cg" 2>/dev/null | sed -n '/file:function/,$p' \
    | sed 's/\[\/[^]]*\]//' | cut -c1-200 | head -45 >"$OUT/$name.self.txt"; } || true
  printf '%-28s %12s instructions / %6s requests = %9s instructions per request\n' \
    "$name" "$total" "$reqs" "$(( total / (reqs > 0 ? reqs : 1) ))" | tee -a "$SUMMARY" >&2
}

# --- SQLite -------------------------------------------------------------------------------------
for variant in plain stat4; do
  dir=$OUT/sqlite-$variant; mkdir -p "$dir"
  prepare "sqlite://$dir/db.sqlite" "$dir" "$([ $variant = stat4 ] && echo 1 || echo 0)"
  config "sqlite://$dir/db.sqlite" "$dir/ostiary.yml"
  callgrind_run "whoami-token-sqlite-$variant" "$PUB" "$OSTIARY" serve -c "$dir/ostiary.yml" -- \
    -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/tokens.tsv" token
done
dir=$OUT/sqlite-plain
callgrind_run whoami-cookie-sqlite "$PUB" "$OSTIARY" serve -c "$dir/ostiary.yml" -- \
  -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/tokens.tsv" cookie
# The same on a hot set of 100 tokens: after the warm-up every request is a session-cache hit
# (the runs above rotate over 10,000 tokens and, slowed down ~50x by callgrind, serve fewer
# requests than that, so they measure the cache-miss path: the database read).
head -100 "$dir/tokens.tsv" >"$dir/hot.tsv"
callgrind_run whoami-token-sqlite-cached "$PUB" "$OSTIARY" serve -c "$dir/ostiary.yml" -- \
  -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/hot.tsv" token
callgrind_run whoami-cookie-sqlite-cached "$PUB" "$OSTIARY" serve -c "$dir/ostiary.yml" -- \
  -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/hot.tsv" cookie
callgrind_run whoami-baseline "$BASE" "$BASELINE" "$dir/tokens.tsv" "$BASE" -- \
  -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$BASE" -- "$dir/tokens.tsv" token
# Login: 3 native logins (create the flow, submit the password) at bcrypt cost 12, one after the
# other (about 50× slower under valgrind); instructions per login include the flow creation.
callgrind_login() { # callgrind_login <name> <config>
  local name=$1
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$name.cg" \
    "$OSTIARY" serve -c "$2" >"$OUT/$name.log" 2>&1 &
  local vp=$! i flow ok=0; PIDS+=("$vp")
  wait_port "$PUB" "$vp" 240
  login_once() {
    flow=$(curl -s "http://127.0.0.1:$PUB/self-service/login/api" | jq -r .id)
    curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PUB/self-service/login?flow=$flow" \
      -H 'Content-Type: application/json' -H 'Accept: application/json' \
      -d "{\"method\":\"password\",\"identifier\":\"bench-$1@example.test\",\"password\":\"$PASSWORD\"}"
  }
  login_once 1 >/dev/null   # warm-up
  callgrind_control -i on "$vp" >/dev/null 2>&1
  for i in 2 3 4; do [ "$(login_once $i)" = 200 ] && ok=$((ok + 1)); done
  callgrind_control -i off "$vp" >/dev/null 2>&1
  kill -TERM "$vp"; wait "$vp" 2>/dev/null || true
  local total
  total=$(awk '/^totals:/ {print $2}' "$OUT/$name.cg" | tail -1)
  { callgrind_annotate --inclusive=yes "$OUT/$name.cg" 2>/dev/null | sed -n '/file:function/,$p' \
    | sed 's/\[\/[^]]*\]//' | cut -c1-200 | head -80 >"$OUT/$name.top.txt"; } || true
  printf '%-28s %12s instructions / %6s logins   = %9s instructions per login\n' \
    "$name" "$total" "$ok" "$(( total / (ok > 0 ? ok : 1) ))" | tee -a "$SUMMARY" >&2
}
callgrind_login login-sqlite "$dir/ostiary.yml"

# --- PostgreSQL ---------------------------------------------------------------------------------
if "$TOOL" sql --dsn "$PG_URL" --query "SELECT 1" >/dev/null 2>&1; then
  PG_DB="ostiary_profile_$$"
  "$TOOL" sql --dsn "$PG_URL" --query "CREATE DATABASE $PG_DB" >/dev/null
  dsn="${PG_URL%/*}/$PG_DB"
  dir=$OUT/postgres; mkdir -p "$dir"
  prepare "$dsn" "$dir" 1
  config "$dsn" "$dir/ostiary.yml"
  callgrind_run whoami-token-postgres "$PUB" "$OSTIARY" serve -c "$dir/ostiary.yml" -- \
    -t1 -c8 -d10s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/tokens.tsv" token
else
  log "NOTICE: PostgreSQL at $PG_URL does not answer; skipped"
fi

# --- perf: the CPU split under the real load ------------------------------------------------------
set +o pipefail   # `… | head` below closes pipes early
if perf record -e cpu-clock -a -o "$OUT/perf-probe.data" -- sleep 0.1 >/dev/null 2>&1; then
  for be in sqlite-plain postgres; do
    dir=$OUT/$be
    [ -f "$dir/ostiary.yml" ] || continue
    "$OSTIARY" serve -c "$dir/ostiary.yml" >>"$OUT/perf-$be.log" 2>&1 &
    sp=$!; PIDS+=("$sp"); wait_port "$PUB" "$sp" 100
    wrk -t2 -c64 -d8s -s "$ROOT/bench/whoami.lua" "http://127.0.0.1:$PUB" -- "$dir/tokens.tsv" token \
      >"$OUT/perf-$be.wrk.txt" 2>&1 &
    wp=$!; PIDS+=("$wp")
    sleep 2
    perf record -F 499 -a -g -e cpu-clock -o "$OUT/perf-$be.data" -- sleep 4 >/dev/null 2>&1
    wait "$wp" || true
    kill -TERM "$sp"; wait "$sp" 2>/dev/null || true
    {
      echo "== perf, whoami by token at 64 connections, $be: CPU share by thread name"
      perf report -i "$OUT/perf-$be.data" --stdio --no-children --sort comm -g none 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -12
      echo "== $be: Ostiary's threads by shared object (kernel = syscalls, network, scheduling)"
      perf report -i "$OUT/perf-$be.data" --stdio --no-children --comm tokio-rt-worker,sqlx-sqlite-wor \
        --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -6
      echo "== $be: top symbols in Ostiary's threads"
      perf report -i "$OUT/perf-$be.data" --stdio --no-children --comm tokio-rt-worker,sqlx-sqlite-wor \
        --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
      sed -n 's/^JSON //p' "$OUT/perf-$be.wrk.txt"
    } >>"$SUMMARY"
  done
else
  log "perf cannot sample here; skipped"
fi
rm -f "$OUT"/perf-probe.data "$OUT"/*/db.sqlite*
log "done: $SUMMARY"
cat "$SUMMARY"
