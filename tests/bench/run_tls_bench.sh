#!/usr/bin/env bash
# What Kafka security costs: EVENTS synthetic events published and projected over a
# plaintext three-node cluster and over a secure one (LEDGER_KAFKA_SECURE=1: SASL_SSL
# with PLAIN for the clients and among the brokers, ACLs), both started by ops/cluster.sh
# on free ports, six partitions, replication factor 3, in the same run: `ledger publish`
# once to each, then `ledger project --until-caught-up` (the commands users run) ROUNDS
# times on each in turn; for each run its events/s and CPU-us per event, and the brokers'
# CPU-us per event while it ran.
# Usage: run_tls_bench.sh [BUILD_DIR] [EVENTS=1000000] [ROUNDS=2]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-1000000}
ROUNDS=${3:-2}
LEDGER=$BUILD/ledger
WORK=$(mktemp -d /tmp/ledger-tls-bench-XXXXXX)
export LEDGER_PARTITIONS=6 KAFKA_HOME=${KAFKA_HOME:-$ROOT/var/kafka-dist}
source "$ROOT/tests/support/free_port.sh"
declare -A PORT
cluster() {  # plain|secure ops/cluster.sh arguments...
  local kind=$1; shift
  LEDGER_VAR_DIR=$WORK/$kind LEDGER_CLUSTER_PORT=${PORT[$kind]} LEDGER_KAFKA_SECURE=$([[ $kind == secure ]] && echo 1 || echo 0) \
    "$ROOT/ops/cluster.sh" "$@"
}
cleanup() {
  for kind in plain secure; do [[ -n ${PORT[$kind]:-} ]] && cluster "$kind" stop >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ticks=$(getconf CLK_TCK)
brokers_cpu() {  # kind: the user+system seconds of its broker JVMs so far
  local f sum=0
  for f in "$WORK/$1"/cluster/node*/broker.pid; do
    sum=$(awk -v a="$sum" -v t="$ticks" '{ print a + ($14 + $15) / t }' "/proc/$(cat "$f")/stat")
  done
  echo "$sum"
}
config() {  # kind principal: the --kafka-config arguments
  if [[ $1 == secure ]]; then echo "--kafka-config $WORK/secure/security/$2.properties"; fi
}
measure() {  # label kind command...: runs it, prints events/s and CPU-us per event
  local label=$1 kind=$2 before after
  shift 2
  before=$(brokers_cpu "$kind")
  /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" >"$WORK/out" 2>&1 || { tail -n 5 "$WORK/out"; exit 1; }
  after=$(brokers_cpu "$kind")
  read -r wall user sys <"$WORK/time"
  awk -v l="$label" -v e="$EVENTS" -v w="$wall" -v c="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" \
    -v k="$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" 'BEGIN {
    printf "%-30s %8.0f events/s  %6.1f CPU-us per event in the ledger  %6.1f in the brokers  (%.1f s)\n",
      l, e / w, c * 1000000 / e, k * 1000000 / e, w }'
}

echo "TLS bench: $EVENTS events, 6 partitions, replication factor 3; $(nproc) cores"
"$BUILD/tests/ledger_synth" "$EVENTS" $((EVENTS / 50)) 42 TLS >"$WORK/events.jsonl"
for kind in plain secure; do
  PORT[$kind]=$(free_port_run 6)
  [[ $kind == secure ]] && LEDGER_VAR_DIR=$WORK/secure "$ROOT/ops/security.sh" init 2>/dev/null
  cluster "$kind" up 180 >"$WORK/$kind-up.log" 2>&1 || { cat "$WORK/$kind-up.log"; exit 1; }
done
SECURE_BROKERS=$(cluster secure bootstrap)
"$LEDGER" --brokers "$SECURE_BROKERS" $(config secure admin) acls apply --group tls-bench >/dev/null
for kind in plain secure; do
  measure "publish, $kind" "$kind" "$LEDGER" --brokers "$(cluster "$kind" bootstrap)" $(config "$kind" publisher) \
    publish "$WORK/events.jsonl" --flush-timeout 600
done
for round in $(seq 1 "$ROUNDS"); do
  for kind in plain secure; do
    measure "project, $kind, round $round" "$kind" "$LEDGER" --brokers "$(cluster "$kind" bootstrap)" \
      $(config "$kind" projector) --data-dir "$WORK/store-$kind-$round" project --group "tls-bench.$round" \
      --metrics-listen "" --http-listen "" --until-caught-up
    rm -rf "$WORK/store-$kind-$round"
  done
done
