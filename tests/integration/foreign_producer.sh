#!/usr/bin/env bash
# Integration: a producer in another language (tests/interop/foreign_producer.py:
# confluent-kafka from PyPI, FlatBuffers built with flatc's Python classes), written
# against schema/README.md alone. The ledger must answer its events exactly as it answers
# the same events published by `ledger publish`, and dead-letter, with a reason that says
# what to set, an event sent with librdkafka's default partitioner.
set -euo pipefail
LEDGER=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-interop-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
RUN=$RANDOM$RANDOM
L=("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/store")

PYTHON=$("$ROOT/ops/python-env.sh")
flatc --python -o "$WORK/gen" "$ROOT/schema/ledger.fbs"
# The fixture's ledger.events has 4 partitions.
"$PYTHON" "$ROOT/tests/interop/foreign_producer.py" --brokers "$BROKERS" --gen "$WORK/gen" --prefix "PY$RUN-" \
  --twin-prefix "LD$RUN-" --json "$WORK/twins.jsonl" --accounts 6 --partitions 4 --misrouted "$WORK/misrouted"
"${L[@]}" publish "$WORK/twins.jsonl" >/dev/null
dlq_from=$("${L[@]}" dlq list 2>/dev/null | wc -l)
"${L[@]}" project --group "interop-$RUN" --metrics-listen "" --http-listen "" --until-caught-up >"$WORK/project.log" 2>&1 ||
  { tail "$WORK/project.log"; fail "the projector failed"; }

compared=0
for i in $(seq 0 5); do
  for q in "entitlement --account {A} --product db --at 2025-06-01" \
           "entitlement --account {A} --product db --at 2025-09-01" \
           "intake --account {A} --contact C1 --product db --at 2025-06-01" \
           "case --account {A} --case K1 --at 2025-03-02"; do
    py=$("${L[@]}" query ${q//\{A\}/PY$RUN-$i} --format json) || fail "no answer for PY$RUN-$i: $q"
    ld=$("${L[@]}" query ${q//\{A\}/LD$RUN-$i} --format json) || fail "no answer for LD$RUN-$i: $q"
    # The answers name their account and event ids; the rest must be the same.
    norm() { sed -E "s/(PY|LD)$RUN-/X-/g; s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g; s/\"offset\":[0-9]+/\"offset\":N/g; s/\"partition\":[0-9]+/\"partition\":N/g; s/\"recorded_at\":\"[^\"]*\"/\"recorded_at\":T/g"; }
    [[ "$(norm <<<"$py")" == "$(norm <<<"$ld")" ]] || fail "PY$RUN-$i and LD$RUN-$i answer $q differently:"$'\n'"$py"$'\n'"$ld"
    compared=$((compared + 1))
  done
done
grep -q '"entitled":true' <<<"$("${L[@]}" query entitlement --account "PY$RUN-0" --product db --at 2025-06-01 --format json)" ||
  fail "the foreign producer's account is not entitled"
echo "$compared answers alike for the foreign producer's events and ledger publish's"

misrouted=$(cat "$WORK/misrouted")
"${L[@]}" query events --account "$misrouted" >/dev/null 2>&1 && fail "$misrouted, sent to the wrong partition, was applied"
"${L[@]}" dlq list --from "$dlq_from" | grep -F "$misrouted" | grep -q 'partitioner=murmur2_random' ||
  fail "no dead letter for $misrouted saying which partitioner to set"
echo "the event sent with librdkafka's default partitioner was dead-lettered, with the setting to fix"

# The operator's re-drive: a summary by reason, a dry run that sends nothing, the replay of
# just those letters (by reason), and the letter marked as re-driven.
"${L[@]}" dlq list --from "$dlq_from" --summary >"$WORK/summary.txt"
cat "$WORK/summary.txt"
grep -qE "^[1-9][0-9]*"$'\t'" 1"$'\t'".*murmur2_random" "$WORK/summary.txt" ||
  fail "the summary has no row for the misrouted letter, valid now"
"${L[@]}" dlq replay --from "$dlq_from" --reason murmur2_random --dry-run >"$WORK/dry.txt"
grep -q "would send .* back to ledger.events" "$WORK/dry.txt" || fail "the dry run says nothing: $(cat "$WORK/dry.txt")"
"${L[@]}" project --group "interop-$RUN" --metrics-listen "" --http-listen "" --until-caught-up >>"$WORK/project.log" 2>&1
"${L[@]}" query events --account "$misrouted" >/dev/null 2>&1 && fail "the dry run sent $misrouted"
"${L[@]}" dlq replay --from "$dlq_from" --reason murmur2_random >"$WORK/replay.txt" ||
  fail "the replay failed: $(cat "$WORK/replay.txt")"
grep -q "^replayed 1 of 1 dead letters" "$WORK/replay.txt" || fail "the replay: $(cat "$WORK/replay.txt")"
"${L[@]}" project --group "interop-$RUN" --metrics-listen "" --http-listen "" --until-caught-up >>"$WORK/project.log" 2>&1
"${L[@]}" query events --account "$misrouted" >/dev/null || fail "$misrouted, re-driven, was not applied"
"${L[@]}" dlq list --from "$dlq_from" --reason murmur2_random | grep -F "$misrouted" | grep -q '"redriven":true' ||
  fail "the re-driven letter is not marked so"
echo "dlq: summarised, dry run, re-driven by reason (applied), marked as re-driven"
