#!/usr/bin/env bash
# The HTTP API under load while the projector ingests: a broker of its own (6
# partitions), EVENTS synthetic events projected first, then wrk asks entitlement
# questions over loopback (at RATE per second, then as fast as it can) while more events
# are published and projected at the same time. Prints wrk's figures and the projector's
# progress during the run.
# Usage: run_http_bench.sh [BUILD_DIR] [EVENTS=300000] [RATE=5000] [SECONDS=30] [INGEST_RATE=2000]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-300000}
RATE=${3:-5000}
SECONDS_=${4:-30}
INGEST_RATE=${5:-2000}
ACCOUNTS=$((EVENTS / 50))
LEDGER=$BUILD/ledger
WORK=$(mktemp -d /tmp/ledger-http-bench-XXXXXX)
export LEDGER_TEST_KAFKA_DIR=$WORK/kafka
source "$ROOT/tests/support/free_port.sh"
mapfile -t PORTS < <(free_ports 2)
API=127.0.0.1:${PORTS[0]} METRICS=127.0.0.1:${PORTS[1]}
cleanup() {
  [[ -n ${PROJECTOR:-} ]] && kill "$PROJECTOR" 2>/dev/null && wait "$PROJECTOR" 2>/dev/null
  "$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
LEDGER_PARTITIONS=6 "$ROOT/tests/integration/kafka_fixture.sh" start >/dev/null 2>&1
export LEDGER_BROKERS=$(cat "$LEDGER_TEST_KAFKA_DIR/bootstrap") LEDGER_DATA_DIR=$WORK/store

echo "http bench: $EVENTS events for $ACCOUNTS accounts, then wrk at $RATE/s for ${SECONDS_}s while more are projected"
"$BUILD/tests/ledger_synth" "$EVENTS" "$ACCOUNTS" 42 BENCH | "$LEDGER" publish - >/dev/null
"$LEDGER" project --until-caught-up --metrics-listen "" --http-listen "" --group http-bench >/dev/null 2>&1
export LEDGER_TOKEN=$("$LEDGER" token create bench --role analyst 2>/dev/null)
"$LEDGER" project --metrics-listen "$METRICS" --http-listen "$API" --group http-bench >"$WORK/projector.log" 2>&1 &
PROJECTOR=$!
for _ in $(seq 100); do curl -sf "http://$API/healthz" >/dev/null && break; sleep 0.1; done

# Events keep coming while wrk asks: INGEST_RATE events per second (0: as fast as they can
# be published), from other synthetic streams (new ids) for the same accounts.
ingest() {  # SECONDS_ of events, from one long-running publisher
  local n=$((INGEST_RATE > 0 ? INGEST_RATE * $1 : 5000000))
  "$BUILD/tests/ledger_synth" $((ACCOUNTS + n)) "$ACCOUNTS" "$2" BENCH "$ACCOUNTS" "$INGEST_RATE" |
    timeout "$(($1 + 5))" "$LEDGER" publish - >/dev/null 2>&1 || true
}
projected() { "$LEDGER" status | awk '/^total/ {print $2}'; }

# The server's own latency histogram for one endpoint (status 200): "le count" lines.
server_buckets() {
  curl -sf "http://$METRICS/metrics" | awk -v ep="endpoint=\"$1\"" '
    /^ledger_http_request_duration_seconds_bucket/ && index($0, ep) && /status="200"/ {
      match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $NF }'
}
# What share of a phase's requests the server answered within each bucket bound: where
# the time of the slow ones went (in the handler, or before it reached the handler).
server_side() {  # before-file after-file
  join -a 2 -e 0 -o 0,1.2,2.2 <(sort "$1") <(sort "$2") | sort -g | awk '
    { le[NR] = $1; n[NR] = $3 - $2 } END {
      total = n[NR]; if (total == 0) { print "server side: no requests"; exit }
      line = sprintf("server side (handler, token check included), %d requests: within", total)
      for (i = 1; i < NR; i++) if (le[i] + 0 >= 0.0001 && le[i] + 0 <= 0.0025)
        line = line sprintf(" %g ms %.2f%%,", le[i] * 1000, 100 * n[i] / total)
      print substr(line, 1, length(line) - 1) }'
}

# One measured phase: wrk for SECONDS_ while events are ingested.
# Usage: phase TITLE RATE CONNECTIONS PATH SEED  (RATE 0: as fast as possible; PATH "": entitlement)
phase() {
  echo "--- $1, projector ingesting ${INGEST_RATE}/s (0: as fast as it can)"
  export LEDGER_ACCOUNTS=$ACCOUNTS LEDGER_RATE=$2 LEDGER_CONNECTIONS=$3 LEDGER_PATH=$4
  [[ -z $4 ]] && unset LEDGER_PATH
  local before after ingesting
  local endpoint=${4:-/v1/entitlement}
  before=$(projected)
  server_buckets "$endpoint" >"$WORK/buckets.before"
  ingest "$SECONDS_" "$5" &
  ingesting=$!
  wrk -t2 -c"$3" -d"${SECONDS_}s" --timeout 5s -s "$ROOT/tests/bench/http_entitlement.lua" "http://$API" | tail -n 2
  server_buckets "$endpoint" >"$WORK/buckets.after"
  server_side "$WORK/buckets.before" "$WORK/buckets.after"
  after=$(projected)
  echo "projected meanwhile: $((after - before)) events"
  wait "$ingesting"
}
# Warm-up, not measured: a freshly started broker spends its first minute compiling its
# hot paths (a C2 compiler thread took a fifth of a core), and the projector's caches fill.
echo "--- warm-up, not measured: 15 s of the paced load with ingest"
export LEDGER_ACCOUNTS=$ACCOUNTS LEDGER_RATE=$RATE LEDGER_CONNECTIONS=20
ingest 15 41 &
WARMING=$!
wrk -t2 -c20 -d15s --timeout 5s -s "$ROOT/tests/bench/http_entitlement.lua" "http://$API" >/dev/null
wait "$WARMING"
phase "entitlement at $RATE/s (wrk -t2 -c20, paced)" "$RATE" 20 "" 43
phase "entitlement as fast as possible (wrk -t2 -c16)" 0 16 "" 44
phase "baseline in the same run: /healthz (no token, no store) at $RATE/s" "$RATE" 20 /healthz 45
