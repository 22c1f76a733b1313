#!/usr/bin/env bash
# The benchmark of issue 5, in one command: `bash bench/run.sh`.
#
# Builds release binaries (Ostiary, the bare baseline bench/baseline.rs, the helper bench/tool.rs),
# then on SQLite and on PostgreSQL: migrates a fresh database with `ostiary migrate sql`, seeds it
# with `bench_tool seed`, starts `ostiary serve -c <generated config>` and the baseline side by side
# on 127.0.0.1, and drives every scenario with wrk for a bounded time, runs interleaved with the
# baseline's. Raw results go to bench/out/<timestamp>/results.jsonl; the tables (medians, targets
# met or not) are spliced into BENCHMARKS.md between its `results` markers.
#
# Environment (all optional):
#   CARGO_TARGET_DIR      where to build (default ./target)
#   BENCH_BACKENDS        "sqlite postgres" (default); PostgreSQL is skipped with a notice when
#                         BENCH_POSTGRES_URL does not answer
#   BENCH_POSTGRES_URL    a server to create and drop a scratch database on
#                         (default postgres://postgres@127.0.0.1:5432/test)
#   BENCH_RUNS            repetitions of every measured run (default 3; medians need ≥ 3)
#   BENCH_SECONDS         seconds of each whoami/list/admin wrk run (default 5)
#   BENCH_LOGIN_SECONDS   seconds of each login and login-storm run (default 8)
#   BENCH_BIG_IDENTITIES  identities added for the 1M phase, 10 sessions each (default 99000)
#   BENCH_PORT            first of the ports used (default 14433: public, +1 admin, +2 baseline)
#   BENCH_NO_SPLICE=1     leave BENCHMARKS.md alone (results only under bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
LOGIN_SECS=${BENCH_LOGIN_SECONDS:-8}
BIG_IDS=${BENCH_BIG_IDENTITIES:-99000}
PORT=${BENCH_PORT:-14433}
PUB=$PORT ADM=$((PORT + 1)) BASE=$((PORT + 2))
CONNS=64
# The last CPU this process may run on (its cpuset need not start at 0).
LOAD_CPU=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status | tr ',' '\n' | tail -1 | sed 's/.*-//')
SMALL_IDS=1000      # phase A: 1,000 identities × 10 sessions = the 10k-session scenario
PER=10
BIG_SESSIONS=1000   # one more identity with 1,000 sessions (revoke-all-others)
PASSWORD=bench-password-0123
SECRET=ostiary-bench-cookie-secret-0123456789
OUT=$ROOT/bench/out/$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$OUT/results.jsonl
mkdir -p "$OUT"
: >"$RESULTS"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- every process this script starts is remembered and ended by its pid ----------------------
PIDS=()
PG_DB=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  sleep 0.3
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  if [ -n "$PG_DB" ] && [ -x "${TOOL:-}" ]; then
    "$TOOL" sql --dsn "$PG_URL" --query "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # stop <pid>: SIGTERM, then SIGKILL after 5 s
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

# --- tools --------------------------------------------------------------------------------------
for t in wrk jq curl; do
  if ! command -v $t >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing $t"
      apt-get install -y -qq $t >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq $t >/dev/null; }
    fi
    command -v $t >/dev/null || die "$t is needed (apt-get install $t)"
  fi
done
for p in $PUB $ADM $BASE; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then die "port $p is in use; set BENCH_PORT"; fi
done

log "building release binaries into $TARGET"
BUILD_START=$(date +%s)
CARGO_TARGET_DIR=$TARGET cargo build --release --quiet --bin ostiary --example bench_baseline --example bench_tool
log "built in $(( $(date +%s) - BUILD_START )) s"
OSTIARY=$TARGET/release/ostiary
TOOL=$TARGET/release/examples/bench_tool
BASELINE=$TARGET/release/examples/bench_baseline

# --- the machine ----------------------------------------------------------------------------------
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src migrations 2>/dev/null || echo '+local-changes')}"
  echo "runs=$RUNS"
  echo "seconds=$SECS"
  echo "login_seconds=$LOGIN_SECS"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem=$(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
  echo "kernel=$(uname -r)"
  echo "wrk=$(wrk -v 2>&1 | head -1 | cut -d" " -f1-2), one thread on core $LOAD_CPU"
  echo "rustc=$(rustc --version)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "busy_before=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 5 {printf "%s(%s%%) ", $2, $1}')"
} >"$OUT/machine.txt"

record() { # record <json-object-fields> <json-line>: merge tags into a result line
  local tags=$1 line=$2
  printf '%s\n' "$(jq -c --argjson t "{$tags}" '$t + .' <<<"$line")" >>"$RESULTS"
}
note_load() { record "\"scenario\":\"load\",\"at\":\"$1\"" "{\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"; }

# The load generator: one wrk thread pinned to the last core (with `taskset`, when the machine has
# more than one), so that wrk's own threads do not wake on every core and preempt the server under
# test; the server keeps every core to schedule on. On 2 cores, wrk -t2 unpinned put the bare
# baseline's own whoami p99 at 2.5–4.3 ms; pinned, 1.5–1.6 ms at a higher throughput.
load() { # load <wrk args…> (without -t); exec, so that a backgrounded `load` is wrk's own pid
  if [ "$(nproc)" -gt 1 ] && [ -n "$LOAD_CPU" ] && command -v taskset >/dev/null; then
    exec taskset -c "$LOAD_CPU" wrk -t1 "$@"
  else
    exec wrk -t1 "$@"
  fi
}

wrk_json() { # wrk_json <wrk args…>: run the load generator, print its summary JSON line
  local out
  out=$( (load "$@") 2>&1) || { printf '%s\n' "$out" >&2; die "wrk failed"; }
  printf '%s\n' "$out" | sed -n 's/^JSON //p' | tail -1
}

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Anonymous memory only: SQLite's memory-mapped file pages count in VmRSS once per connection's
# mapping (with the kernel's fault-around), though they are shared, clean page cache.
anon() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

wait_ready() { # wait_ready <port> <pid>
  local i
  for i in $(seq 600); do
    kill -0 "$2" 2>/dev/null || die "server (pid $2) exited; see $OUT/*.log"
    if curl -fs -o /dev/null "http://127.0.0.1:$1/health/ready"; then return 0; fi
    sleep 0.05
  done
  die "no /health/ready on port $1"
}

start_ostiary() { # start_ostiary <backend> <config>: sets OPID
  "$OSTIARY" serve -c "$2" >>"$OUT/$1-ostiary.log" 2>&1 &
  OPID=$!; PIDS+=("$OPID")
  wait_ready "$PUB" "$OPID"
}

start_baseline() { # start_baseline <tokens>: sets BPID
  "$BASELINE" "$1" "$BASE" >>"$OUT/baseline.log" 2>&1 &
  BPID=$!; PIDS+=("$BPID")
  wait_ready "$BASE" "$BPID"
}

warm_up() { # warm_up <backend> <scenario> <tokens> <server> <port>
  local line
  line=$(wrk_json -c$CONNS -d${SECS}s --timeout 10s -s "$ROOT/bench/whoami.lua" \
    "http://127.0.0.1:$5" -- "$3" token)
  record "\"backend\":\"$1\",\"scenario\":\"warmup_$2\",\"server\":\"$4\",\"variant\":\"token\",\"run\":0" "$line"
}

# whoami_round <backend> <scenario> <tokens>: RUNS × (baseline, Ostiary) × (token, cookie), interleaved
whoami_round() {
  local be=$1 sc=$2 tok=$3 run v srv port line
  # One unmeasured pass over every token first, on both servers: the figures are of a server in
  # its steady state, not of its first minute (Ostiary's cache fills on the first pass). The pass
  # is recorded as `warmup_…` (raw runs only).
  warm_up "$be" "$sc" "$tok" baseline "$BASE"
  warm_up "$be" "$sc" "$tok" ostiary "$PUB"
  for run in $(seq "$RUNS"); do
    for v in token cookie; do
      for srv in baseline ostiary; do
        port=$([ $srv = ostiary ] && echo "$PUB" || echo "$BASE")
        line=$(wrk_json -c$CONNS -d${SECS}s --timeout 10s -s "$ROOT/bench/whoami.lua" \
          "http://127.0.0.1:$port" -- "$tok" "$v")
        record "\"backend\":\"$be\",\"scenario\":\"$sc\",\"server\":\"$srv\",\"variant\":\"$v\",\"run\":$run" "$line"
        log "$be $sc $srv $v run $run: $(jq -r '"\(.rps|floor) req/s, p99 \(.p99_us) µs, non-2xx \(.non2xx)"' <<<"$line")"
      done
    done
  done
}

# --- one backend ----------------------------------------------------------------------------------
bench_backend() {
  local be=$1 dsn dir cfg run line t0
  dir=$OUT/$be
  mkdir -p "$dir"
  if [ "$be" = sqlite ]; then
    dsn="sqlite://$dir/bench.sqlite"
  else
    PG_DB="ostiary_bench_$$"
    "$TOOL" sql --dsn "$PG_URL" --query "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    "$TOOL" sql --dsn "$PG_URL" --query "CREATE DATABASE $PG_DB" >/dev/null
    dsn="${PG_URL%/*}/$PG_DB"
  fi
  cfg=$dir/ostiary.yml
  cat >"$cfg" <<EOF
# Generated by bench/run.sh. Production mode (no --dev): migrations applied beforehand, bcrypt at
# the default cost 12, hashing concurrency at its default (the number of cores).
dsn: $dsn
serve:
  public: {host: 127.0.0.1, port: $PUB, base_url: "http://127.0.0.1:$PUB/"}
  admin: {host: 127.0.0.1, port: $ADM, base_url: "http://127.0.0.1:$ADM/"}
selfservice:
  default_browser_return_url: "http://127.0.0.1:$PUB/"
  methods:
    password:
      config: {haveibeenpwned_enabled: false}
secrets:
  cookie: ["$SECRET"]
hashers:
  algorithm: bcrypt
  bcrypt: {cost: 12}
EOF
  export RUST_LOG=warn
  log "$be: migrate"
  "$OSTIARY" migrate sql "$dsn" --yes >>"$OUT/$be-ostiary.log" 2>&1

  # Phase A: 1,000 identities × 10 sessions (+ one identity with 1,000 sessions).
  t0=$(( ($(date +%s) - 86400) * 1000000 ))
  log "$be: seed 10k sessions"
  line=$("$TOOL" seed --dsn "$dsn" --start 0 --identities $SMALL_IDS --sessions-per $PER \
    --session-start 0 --t0 $t0 --big $BIG_SESSIONS --big-out "$dir/big.tsv" \
    --tokens-out "$dir/tokens-10k.tsv" --cookie-secret "$SECRET" --password "$PASSWORD")
  record "\"backend\":\"$be\",\"scenario\":\"seed\",\"phase\":\"10k\"" "$line"

  # Start-up: process start → /health/ready, and idle RSS (separate processes, 5 starts).
  log "$be: ready time"
  "$TOOL" ready --bin "$OSTIARY" --config "$cfg" --addr "127.0.0.1:$PUB" --runs 5 \
    --log "$OUT/$be-ostiary.log" | while read -r line; do
    record "\"backend\":\"$be\",\"scenario\":\"ready\"" "$line"
  done

  start_ostiary "$be" "$cfg"
  start_baseline "$dir/tokens-10k.tsv"
  sleep 1
  record "\"backend\":\"$be\",\"scenario\":\"rss\",\"phase\":\"10k\"" \
    "{\"ostiary_idle_kib\":$(rss $OPID),\"baseline_idle_kib\":$(rss $BPID)}"
  note_load "$be-10k"

  # Sanity: both credentials resolve, a cookie is not re-issued, a wrong token is 401.
  local tok ck code
  tok=$(head -1 "$dir/tokens-10k.tsv" | cut -f1); ck=$(head -1 "$dir/tokens-10k.tsv" | cut -f2)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Session-Token: $tok" "http://127.0.0.1:$PUB/sessions/whoami")
  [ "$code" = 200 ] || die "$be: whoami by token answered $code"
  curl -s -D "$dir/cookie-headers.txt" -o /dev/null -H "Cookie: ory_kratos_session=$ck" "http://127.0.0.1:$PUB/sessions/whoami"
  grep -q '^HTTP/1.1 200' "$dir/cookie-headers.txt" || die "$be: whoami by cookie failed"
  ! grep -qi '^set-cookie' "$dir/cookie-headers.txt" || log "$be: note: the server re-issues the seeded cookie"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Session-Token: ory_st_nope" "http://127.0.0.1:$PUB/sessions/whoami")
  [ "$code" = 401 ] || die "$be: unknown token answered $code"

  # whoami over 10k sessions, RSS sampled in the middle of an Ostiary run.
  ( sleep $((SECS + SECS / 2)); rss "$OPID" >"$dir/rss-load.txt" ) &
  PIDS+=("$!")
  whoami_round "$be" whoami_10k "$dir/tokens-10k.tsv"
  record "\"backend\":\"$be\",\"scenario\":\"rss\",\"phase\":\"10k-load\"" \
    "{\"ostiary_load_kib\":$(cat "$dir/rss-load.txt" 2>/dev/null || echo 0),\"ostiary_hwm_kib\":$(hwm $OPID),\"ostiary_after_kib\":$(rss $OPID),\"ostiary_anon_after_kib\":$(anon $OPID),\"baseline_hwm_kib\":$(hwm $BPID)}"

  # List my sessions (each identity has 10: 9 others listed).
  for run in $(seq "$RUNS"); do
    line=$(wrk_json -c$CONNS -d${SECS}s --timeout 10s -s "$ROOT/bench/whoami.lua" \
      "http://127.0.0.1:$PUB" -- "$dir/tokens-10k.tsv" token /sessions)
    record "\"backend\":\"$be\",\"scenario\":\"list_my_sessions\",\"server\":\"ostiary\",\"run\":$run" "$line"
    log "$be list my sessions run $run: $(jq -r '"\(.rps|floor) req/s, p99 \(.p99_us) µs"' <<<"$line")"
  done

  # Revoke all others of an identity with 1,000 sessions: one DELETE /sessions, timed by curl;
  # the 999 are re-activated between runs (outside the timing).
  local big_tok big_id
  big_tok=$(cut -f1 "$dir/big.tsv"); big_id=$(cut -f3 "$dir/big.tsv")
  for run in $(seq 5); do
    "$TOOL" sql --dsn "$dsn" --query "UPDATE sessions SET active = 1 WHERE identity_id = '$big_id'" >/dev/null
    "$TOOL" sql --dsn "$dsn" --query "UPDATE identities SET sessions_revoked_before = NULL, sessions_revoked_except = NULL WHERE id = '$big_id'" >/dev/null
    sleep 0.2
    line=$(curl -s -o "$dir/revoke.json" -w '{"ms":%{time_total},"status":%{http_code}}' -X DELETE \
      -H "X-Session-Token: $big_tok" "http://127.0.0.1:$PUB/sessions")
    line=$(jq -c --argjson c "$(jq .count "$dir/revoke.json")" '.ms *= 1000 | .count = $c' <<<"$line")
    record "\"backend\":\"$be\",\"scenario\":\"revoke_others_1k\",\"run\":$run" "$line"
    log "$be revoke run $run: $(jq -r '"\(.ms) ms, \(.count) revoked"' <<<"$line")"
  done

  # Native login at the configured hasher, beside the raw hasher rate at the same parameters on
  # as many threads as the server's hashing permits (its default: the number of cores).
  for run in $(seq "$RUNS"); do
    line=$("$TOOL" hasher --algorithm bcrypt --cost 12 --threads "$(nproc)" --seconds 5)
    record "\"backend\":\"$be\",\"scenario\":\"hasher\",\"run\":$run" "$line"
    log "$be raw hasher run $run: $(jq -r '.rate' <<<"$line")/s"
    "$TOOL" flows --url "http://127.0.0.1:$PUB" --n 300 --out "$dir/flows.txt"
    line=$(wrk_json -c16 -d${LOGIN_SECS}s --timeout 60s -s "$ROOT/bench/login.lua" \
      "http://127.0.0.1:$PUB" -- "$dir/flows.txt" $SMALL_IDS "$PASSWORD" 1)
    record "\"backend\":\"$be\",\"scenario\":\"login\",\"server\":\"ostiary\",\"run\":$run" "$line"
    log "$be login run $run: $(jq -r '"\(.rps) logins/s, p99 \(.p99_us) µs, non-2xx \(.non2xx)"' <<<"$line")"
  done

  # whoami (64 connections) while a login storm (16 connections) runs. Beside it, the baseline's
  # whoami while the raw hasher runs on every core at nice 19 (Ostiary's hashing threads' priority):
  # what CPU-bound work of the lowest priority alone does to a whoami p99 on this machine.
  warm_up "$be" storm "$dir/tokens-10k.tsv" ostiary "$PUB"
  for run in $(seq "$RUNS"); do
    nice -n 19 "$TOOL" hasher --algorithm bcrypt --cost 12 --threads "$(nproc)" \
      --seconds $((LOGIN_SECS + 1)) >/dev/null &
    local hpid=$!; PIDS+=("$hpid")
    sleep 1
    line=$(wrk_json -c$CONNS -d${LOGIN_SECS}s --timeout 10s -s "$ROOT/bench/whoami.lua" \
      "http://127.0.0.1:$BASE" -- "$dir/tokens-10k.tsv" token)
    wait "$hpid" || true
    record "\"backend\":\"$be\",\"scenario\":\"storm_baseline\",\"server\":\"baseline\",\"run\":$run" "$line"
    log "$be baseline whoami beside nice-19 hashing run $run: $(jq -r '"\(.rps|floor) req/s, p99 \(.p99_us) µs"' <<<"$line")"
    "$TOOL" flows --url "http://127.0.0.1:$PUB" --n 300 --out "$dir/flows.txt"
    (load -c16 -d$((LOGIN_SECS + 1))s --timeout 60s -s "$ROOT/bench/login.lua" \
      "http://127.0.0.1:$PUB" -- "$dir/flows.txt" $SMALL_IDS "$PASSWORD" 1) >"$dir/storm-login.txt" 2>&1 &
    local wpid=$!; PIDS+=("$wpid")
    sleep 1
    line=$(wrk_json -c$CONNS -d${LOGIN_SECS}s --timeout 10s -s "$ROOT/bench/whoami.lua" \
      "http://127.0.0.1:$PUB" -- "$dir/tokens-10k.tsv" token)
    wait "$wpid" || true
    record "\"backend\":\"$be\",\"scenario\":\"storm_whoami\",\"server\":\"ostiary\",\"run\":$run" "$line"
    record "\"backend\":\"$be\",\"scenario\":\"storm_login\",\"server\":\"ostiary\",\"run\":$run" \
      "$(sed -n 's/^JSON //p' "$dir/storm-login.txt" | tail -1)"
    log "$be whoami during login storm run $run: $(jq -r '"\(.rps|floor) req/s, p99 \(.p99_us) µs"' <<<"$line")"
  done
  stop "$OPID"; stop "$BPID"

  # Phase B: 99,000 more identities × 10 sessions → 1,001,000 sessions of 100,001 identities.
  log "$be: seed $((BIG_IDS * PER)) more sessions"
  line=$("$TOOL" seed --dsn "$dsn" --start $((SMALL_IDS + 1)) --identities "$BIG_IDS" --sessions-per $PER \
    --session-start $((SMALL_IDS * PER + BIG_SESSIONS)) --t0 $t0 --token-every $((BIG_IDS * PER / 10000)) \
    --tokens-out "$dir/tokens-1m.tsv" --cursors-out "$dir/cursors.tsv" \
    --depths 100000,250000,500000,750000,990000 --cookie-secret "$SECRET" --password "$PASSWORD")
  record "\"backend\":\"$be\",\"scenario\":\"seed\",\"phase\":\"1m\"" "$line"
  log "$be: seeded: $line"

  start_ostiary "$be" "$cfg"
  start_baseline "$dir/tokens-1m.tsv"
  sleep 1
  record "\"backend\":\"$be\",\"scenario\":\"rss\",\"phase\":\"1m\"" \
    "{\"ostiary_idle_kib\":$(rss $OPID),\"baseline_idle_kib\":$(rss $BPID)}"
  note_load "$be-1m"
  whoami_round "$be" whoami_1m "$dir/tokens-1m.tsv"
  record "\"backend\":\"$be\",\"scenario\":\"rss\",\"phase\":\"1m-load\"" \
    "{\"ostiary_hwm_kib\":$(hwm $OPID),\"ostiary_after_kib\":$(rss $OPID),\"ostiary_anon_after_kib\":$(anon $OPID)}"

  # Admin list sessions: follow `next` for the first 20 pages, then single-connection latency at
  # keyset depths far in (page tokens the seeder wrote in the server's format for known rows).
  "$TOOL" walk --url "http://127.0.0.1:$ADM/admin/sessions?page_size=250" --pages 20 | while read -r line; do
    record "\"backend\":\"$be\",\"scenario\":\"admin_walk\"" "$line"
  done
  local depth token
  { echo "0	"; cat "$dir/cursors.tsv"; } | while IFS=$'\t' read -r depth token _; do
    if [ -n "$token" ]; then
      echo "/admin/sessions?page_size=250&page_token=$token" >"$dir/paths.txt"
    else
      echo "/admin/sessions?page_size=250" >"$dir/paths.txt"
    fi
    for run in $(seq "$RUNS"); do
      line=$(wrk_json -c1 -d2s --timeout 10s -s "$ROOT/bench/paths.lua" \
        "http://127.0.0.1:$ADM" -- "$dir/paths.txt")
      record "\"backend\":\"$be\",\"scenario\":\"admin_list\",\"depth\":$depth,\"run\":$run" "$line"
      log "$be admin list depth $depth run $run: $(jq -r '"\(.rps|floor) req/s, p99 \(.p99_us) µs, non-2xx \(.non2xx)"' <<<"$line")"
    done
  done
  stop "$OPID"; stop "$BPID"
  if [ "$be" = postgres ]; then
    "$TOOL" sql --dsn "$PG_URL" --query "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    PG_DB=""
  else
    rm -f "$dir"/bench.sqlite*
  fi
}

START=$(date +%s)
for be in $BACKENDS; do
  if [ "$be" = postgres ] && ! "$TOOL" sql --dsn "$PG_URL" --query "SELECT 1" >/dev/null 2>&1; then
    log "NOTICE: PostgreSQL at $PG_URL does not answer; PostgreSQL skipped"
    continue
  fi
  bench_backend "$be"
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
echo "bench_seconds=$(( $(date +%s) - START ))" >>"$OUT/machine.txt"

"$TOOL" report --results "$RESULTS" --machine "$OUT/machine.txt" --out "$OUT/results.md"
if [ "${BENCH_NO_SPLICE:-}" != 1 ]; then
  "$TOOL" splice --results-md "$OUT/results.md" --into "$ROOT/BENCHMARKS.md"
  log "BENCHMARKS.md updated"
fi
log "done in $(( $(date +%s) - START )) s; raw results in $OUT"
