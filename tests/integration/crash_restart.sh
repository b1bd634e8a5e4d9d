#!/usr/bin/env bash
# Integration: SIGKILL the projector mid-stream, again and again, restart it, and the
# final store equals (same digest) one clean run over the same log.
# Usage: crash_restart.sh LEDGER_BINARY SYNTH_BINARY   (broker from the CTest fixture)
set -euo pipefail
LEDGER=$1
SYNTH=$2
EVENTS=${CRASH_EVENTS:-200000}
KILLS=${CRASH_KILLS:-20}
DURABILITY=${CRASH_DURABILITY:-wal}  # ledger project --durability
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-crash-XXXXXX)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
RUN=$RANDOM$RANDOM

"$SYNTH" "$EVENTS" 2000 "$RUN" "CR$RUN" >"$WORK/events.jsonl"
# Publish while the projector is being killed, so the kills land mid-stream.
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >"$WORK/publish.log" 2>&1 &
publisher=$!

project() {  # data-dir group [extra flags]; exec: in the background, $! is the projector
  exec "$LEDGER" --brokers "$BROKERS" --data-dir "$1" project --group "$2" --metrics-listen "" \
    --max-batch 200 --durability "$DURABILITY" "${@:3}"
}

kills=0
while ((kills < KILLS)) || kill -0 "$publisher" 2>/dev/null; do
  project "$WORK/crashed" "crash-$RUN" >>"$WORK/crashed.log" 2>&1 &
  pid=$!
  sleep "0.$((3 + RANDOM % 7))"
  if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  echo "kill $kills: $("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/crashed" status 2>&1 | tail -n 1)"
done
wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing failed"; exit 1; }
cat "$WORK/publish.log"
(project "$WORK/crashed" "crash-$RUN" --until-caught-up >>"$WORK/crashed.log" 2>&1)
(project "$WORK/clean" "clean-$RUN" --until-caught-up >"$WORK/clean.log" 2>&1)

crashed=$("$LEDGER" --data-dir "$WORK/crashed" digest)
clean=$("$LEDGER" --data-dir "$WORK/clean" digest)
echo "events published: $EVENTS; SIGKILLs: $kills; durability: $DURABILITY"
echo "crashed-and-restarted digest: $crashed"
echo "clean run digest:             $clean"
grep -h "consumed" "$WORK/crashed.log" | tail -n 1
if [[ $crashed != "$clean" ]]; then
  echo "FAIL: the digests differ"
  exit 1
fi
if ((kills < KILLS / 2)); then
  echo "FAIL: only $kills of $KILLS kills landed"
  exit 1
fi
echo "PASS: equal digests after $kills SIGKILLs"
