#!/usr/bin/env bash
# Integration: SIGKILL the projector mid-stream, again and again (batch sizes varied,
# publishing going on), restart it: each run takes every partition up from exactly the
# offset the store held after the kill before, and the final store equals (same digest)
# one clean run over the same log.
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
    --durability "$DURABILITY" "${@:3}"
}

# Exact resume: after each kill, the offsets the store holds (ledger status) are where
# the next run that is given a partition takes it up, never below.
stored=""  # "partition=next-offset ..." as read after the last kill
resumes=0
wrong=0
check_resume() {  # run-log
  local p offset expected
  declare -A first=()
  while read -r p offset; do
    [[ -n ${first[$p]:-} ]] || first[$p]=$offset
  done < <(sed -n 's/.*assigned ledger\.events \[\([0-9]*\)\] from offset \([0-9a-z]*\).*/\1 \2/p' "$1")
  for p in "${!first[@]}"; do
    expected=$(tr ' ' '\n' <<<"$stored" | sed -n "s/^$p=//p")
    [[ -n $expected && $expected != 0 ]] || expected=beginning
    resumes=$((resumes + 1))
    if [[ ${first[$p]} != "$expected" ]]; then
      wrong=$((wrong + 1))
      echo "WRONG RESUME: partition $p taken up from ${first[$p]}, the store held $expected ($1)"
    fi
  done
}

kills=0
runs=0
while ((kills < KILLS)) || kill -0 "$publisher" 2>/dev/null; do
  runs=$((runs + 1))
  # Batch sizes varied, as a live projector's are.
  batch=$((200 * (1 + RANDOM % 250)))
  project "$WORK/crashed" "crash-$RUN" --max-batch "$batch" >"$WORK/run-$runs.log" 2>&1 &
  pid=$!
  sleep "$((RANDOM % 3)).$((RANDOM % 10))"  # to 3 s: some runs apply, some die joining
  if kill -KILL "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  cat "$WORK/run-$runs.log" >>"$WORK/crashed.log"
  check_resume "$WORK/run-$runs.log"
  status=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/crashed" status 2>&1)
  stored=$(awk '$1 ~ /^[0-9]+$/ && NF == 5 {printf "%s=%s ", $1, $4}' <<<"$status")
  echo "kill $kills (max-batch $batch): stored $stored; $(tail -n 1 <<<"$status")"
done
wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing failed"; exit 1; }
cat "$WORK/publish.log"
(project "$WORK/crashed" "crash-$RUN" --max-batch 200 --until-caught-up >"$WORK/run-last.log" 2>&1)
cat "$WORK/run-last.log" >>"$WORK/crashed.log"
check_resume "$WORK/run-last.log"
(project "$WORK/clean" "clean-$RUN" --max-batch 200 --until-caught-up >"$WORK/clean.log" 2>&1)

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
echo "partition resumes checked: $resumes; below or beyond what the store held: $wrong"
if ((wrong > 0)); then
  echo "FAIL: $wrong resumes did not start from the offsets the store held"
  exit 1
fi
if ((resumes < KILLS / 2)); then
  echo "FAIL: only $resumes partition resumes were seen (no 'assigned ... from offset' lines?)"
  exit 1
fi
if ((kills < KILLS / 2)); then
  echo "FAIL: only $kills of $KILLS kills landed"
  exit 1
fi
echo "PASS: equal digests after $kills SIGKILLs"
