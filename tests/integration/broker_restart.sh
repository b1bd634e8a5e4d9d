#!/usr/bin/env bash
# Integration: SIGKILL the broker while events are being published and projected, start
# it again, and check that every acknowledged event is in the log once and in the
# projection once (the projection's digest equals a clean replay's).
# Usage: broker_restart.sh LEDGER_BINARY SYNTH_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
EVENTS=${RESTART_EVENTS:-100000}
DIR=${LEDGER_TEST_KAFKA_DIR:?}
BROKERS=$(cat "$DIR/bootstrap")
# shellcheck disable=SC1091
source "$DIR/ports"
WORK=$(mktemp -d /tmp/ledger-broker-restart-XXXXXX)
source "$ROOT/tests/support/clean_run.sh"
projector=""
cleanup() {
  [[ -n $projector ]] && kill -KILL "$projector" 2>/dev/null || true
  # Leave the fixture's broker running for the tests after this one.
  LEDGER_VAR_DIR=$DIR KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
    "$ROOT/ops/kafka.sh" start >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
kafka() {
  LEDGER_VAR_DIR=$DIR KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
    "$ROOT/ops/kafka.sh" "$@"
}
log_end() {  # total messages in ledger.events
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/none" status | awk '/^total:/ {print $2 + $5}'
}
RUN=$RANDOM$RANDOM
"$SYNTH" "$EVENTS" 1000 "$RUN" "BR$RUN" >"$WORK/events.jsonl"
before=$(log_end)

"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/live" project --group "restart-$RUN" \
  --metrics-listen "" >"$WORK/projector.log" 2>&1 &
projector=$!
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 240 \
  >"$WORK/publish.log" 2>&1 &
publisher=$!

sleep 0.7
kill -0 "$publisher" 2>/dev/null || { echo "FAIL: publishing ended before the broker was killed"; exit 1; }
echo "SIGKILL to the broker (pid $(cat "$DIR/kafka/broker.pid")) while publishing and projecting"
kill -KILL "$(cat "$DIR/kafka/broker.pid")"
sleep 3
kafka start >/dev/null 2>&1
kafka wait 120 >/dev/null 2>&1
echo "broker restarted"

wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing did not complete"; exit 1; }
cat "$WORK/publish.log"
grep -q "published $EVENTS of $EVENTS events" "$WORK/publish.log" ||
  { echo "FAIL: not every event was acknowledged"; exit 1; }
after=$(log_end)
echo "log grew by $((after - before)) for $EVENTS acknowledged events"
[[ $((after - before)) -eq $EVENTS ]] || { echo "FAIL: the log does not hold each event once"; exit 1; }

"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/live" status --wait 120 >/dev/null ||
  { tail -20 "$WORK/projector.log"; echo "FAIL: the projector did not catch up"; exit 1; }
kill -TERM "$projector"
wait "$projector" || true
projector=""
grep "consumed" "$WORK/projector.log" | tail -n 1

expect_clean_run_digest "$WORK/live" "$WORK" "projected through the broker restart"
echo "PASS: broker SIGKILL and restart lost nothing and applied nothing twice"
