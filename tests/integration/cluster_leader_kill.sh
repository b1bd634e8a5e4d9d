#!/usr/bin/env bash
# Integration, three-node cluster (ops/cluster.sh, on free loopback ports): SIGKILL the
# node leading a partition of ledger.events while events are published (acks=all,
# idempotent) and projected, start it again, and check that every acknowledged event is
# in the log once and in the projection once (the projection's digest equals a clean
# replay's), and that the partition is back to three in-sync replicas.
# Usage: cluster_leader_kill.sh LEDGER_BINARY SYNTH_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
EVENTS=${CLUSTER_EVENTS:-100000}
WORK=$(mktemp -d /tmp/ledger-cluster-XXXXXX)
export LEDGER_VAR_DIR=$WORK/var LEDGER_PARTITIONS=4 KAFKA_HEAP=384m
source "$ROOT/tests/support/free_port.sh"
LEDGER_CLUSTER_PORT=$(free_port_run 6) || { echo "FAIL: no six consecutive free ports"; exit 1; }
export LEDGER_CLUSTER_PORT
source "$ROOT/tests/support/clean_run.sh"
projector=""
cleanup() {
  [[ -n $projector ]] && kill -KILL "$projector" 2>/dev/null || true
  "$ROOT/ops/cluster.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$ROOT/ops/cluster.sh" up 180 >"$WORK/cluster.log" 2>&1 || { cat "$WORK/cluster.log"; echo "FAIL: the cluster did not start"; exit 1; }
BROKERS=$("$ROOT/ops/cluster.sh" bootstrap)
echo "cluster up: $BROKERS"
log_end() {  # total messages in ledger.events
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/none" status | awk '/^total:/ {print $2 + $5}'
}
RUN=$RANDOM$RANDOM
"$SYNTH" "$EVENTS" 1000 "$RUN" "CL$RUN" >"$WORK/events.jsonl"

"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/live" project --group "cluster-$RUN" \
  --metrics-listen "" --http-listen "" >"$WORK/projector.log" 2>&1 &
projector=$!
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 240 \
  >"$WORK/publish.log" 2>&1 &
publisher=$!

sleep 1
kill -0 "$publisher" 2>/dev/null || { echo "FAIL: publishing ended before the leader was killed"; exit 1; }
leader=$("$ROOT/ops/cluster.sh" leader ledger.events 0)
echo "SIGKILL to node $leader, the leader of ledger.events [0], while publishing and projecting"
"$ROOT/ops/cluster.sh" kill "$leader" 2>/dev/null

wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing did not complete"; exit 1; }
cat "$WORK/publish.log"
grep -q "published $EVENTS of $EVENTS events" "$WORK/publish.log" ||
  { echo "FAIL: not every event was acknowledged with a node down"; exit 1; }
after=$(log_end)
echo "the log holds $after events for $EVENTS acknowledged"
[[ $after -eq $EVENTS ]] || { echo "FAIL: the log does not hold each event once"; exit 1; }

"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/live" status --wait 120 >/dev/null ||
  { tail -20 "$WORK/projector.log"; echo "FAIL: the projector did not catch up with a node down"; exit 1; }
echo "projected with node $leader down"

"$ROOT/ops/cluster.sh" restart "$leader" 180 >/dev/null 2>&1 || { echo "FAIL: node $leader did not start again"; exit 1; }
for _ in $(seq 1 60); do
  isr=$("$ROOT/ops/cluster.sh" status | awk '/ledger.events \[0\]/ {print $NF}')
  [[ $(tr ',' '\n' <<<"$isr" | grep -c .) -eq 3 ]] && break
  sleep 1
done
echo "ledger.events [0] in sync on nodes $isr after node $leader came back"
[[ $(tr ',' '\n' <<<"$isr" | grep -c .) -eq 3 ]] || { echo "FAIL: the partition did not get its third replica back"; exit 1; }

kill -TERM "$projector"
wait "$projector" || true
projector=""
grep "consumed" "$WORK/projector.log" | tail -n 1
expect_clean_run_digest "$WORK/live" "$WORK" "projected through the leader's loss"
echo "PASS: the loss of a partition's leader lost no acknowledged event and applied none twice"
