#!/usr/bin/env bash
# Integration: two projectors share the group (each with its own store) while events are
# published; one leaves mid-stream, so its partitions move to the other, which resumes
# them from its own store's offsets. The survivor must end exactly equal to a clean run:
# nothing lost, nothing applied twice across the hand-over.
# Usage: rebalance.sh LEDGER_BINARY SYNTH_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-rebalance-XXXXXX)
source "$ROOT/tests/support/clean_run.sh"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM
GROUP=rebalance-$RUN

"$SYNTH" 100000 2000 "$RUN" "RB$RUN" >"$WORK/events.jsonl"
# Static members keep their partitions for session.timeout.ms after they go: keep it short.
echo "session.timeout.ms=6000" >"$WORK/kafka.properties"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >"$WORK/publish.log" 2>&1 &
publisher=$!
for name in a b; do
  "$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/kafka.properties" --data-dir "$WORK/$name" \
    project --group "$GROUP" --instance-id "$GROUP-$name" --metrics-listen "" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 60); do
  grep -q "assigned" "$WORK/a.log" && grep -q "assigned" "$WORK/b.log" && break
  sleep 0.5
done
grep -q "assigned" "$WORK/a.log" && grep -q "assigned" "$WORK/b.log" ||
  { echo "FAIL: the two projectors did not share the partitions"; tail -n 5 "$WORK"/*.log; exit 1; }
sleep 1
echo "a holds: $(grep -o 'assigned ledger.events \[[0-9]*\]' "$WORK/a.log" | tr '\n' ' ')"
echo "b holds: $(grep -o 'assigned ledger.events \[[0-9]*\]' "$WORK/b.log" | tr '\n' ' ')"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
echo "a left the group mid-stream"
wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing failed"; exit 1; }
# b takes a's partitions over (after the session timeout) and projects them from its own
# store's offsets; it is done when its store has reached the end of every partition.
"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/b" status --wait 180 >/dev/null ||
  { tail -20 "$WORK/b.log"; echo "FAIL: b did not take over every partition"; exit 1; }
echo "b now holds: $(grep -o 'assigned ledger.events \[[0-9]*\]' "$WORK/b.log" | sort -u | tr '\n' ' ')"
kill -TERM "${pids[1]}"
wait "${pids[1]}" || true
expect_clean_run_digest "$WORK/b" "$WORK" "survivor after the hand-over"
echo "PASS: partitions handed over between projectors, nothing lost or applied twice"
