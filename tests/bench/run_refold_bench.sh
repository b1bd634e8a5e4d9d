#!/usr/bin/env bash
# One long account against everyone else: the write-to-read time of other accounts'
# events (published over HTTP, read back with min_position) while nothing else happens,
# then while a trickle of late events arrives for an account of EVENTS events (an old one
# that belongs near its start, and a new one, every 0.7 s): first with every refold in
# its batch (--refold-beside 0), then with long accounts' refolds beside the projection
# (the default). Runs the real `ledger project` on a broker of its own; prints the
# medians and their ratios to the quiet one, all measured in the same run.
# Usage: run_refold_bench.sh [BUILD_DIR] [EVENTS=200000] [SAMPLES=40]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-200000}
SAMPLES=${3:-40}
LEDGER=$BUILD/ledger
WORK=$(mktemp -d /tmp/ledger-refold-bench-XXXXXX)
export LEDGER_TEST_KAFKA_DIR=$WORK/kafka
source "$ROOT/tests/support/free_port.sh"
API=http://127.0.0.1:$(free_ports 1)
cleanup() {
  [[ -n ${TRICKLE:-} ]] && kill "$TRICKLE" 2>/dev/null
  [[ -n ${PROJECTOR:-} ]] && kill "$PROJECTOR" 2>/dev/null && wait "$PROJECTOR" 2>/dev/null
  "$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
LEDGER_PARTITIONS=6 "$ROOT/tests/integration/kafka_fixture.sh" start >/dev/null 2>&1
export LEDGER_BROKERS=$(cat "$LEDGER_TEST_KAFKA_DIR/bootstrap") LEDGER_DATA_DIR=$WORK/store

# The long account: opened, one agreement, then EVENTS renewals a minute apart.
python3 - "$EVENTS" >"$WORK/long.jsonl" <<'PY'
import json, sys, uuid, datetime
n = int(sys.argv[1])
t0 = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
def line(kind, minutes, data):
    at = (t0 + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"type": kind, "account_id": "LONG", "event_id": str(uuid.uuid4()), "occurred_at": at, "data": data})
print(line("AccountOpened", 0, {"name": "Long Ltd"}))
print(line("AgreementPurchased", 1, {"agreement_id": "AG-1", "offering": "BasicMaintenance",
                                     "starts_at": "2020-01-01", "ends_at": "2021-01-01"}))
for i in range(n):
    print(line("AgreementRenewed", 10 + i, {"agreement_id": "AG-1", "ends_at": "2030-01-01"}))
PY
echo "refold bench: an account of $EVENTS events, $SAMPLES write-to-read samples per phase"
"$LEDGER" publish "$WORK/long.jsonl" >/dev/null
"$LEDGER" project --until-caught-up --metrics-listen "" --http-listen "" --group refold-bench >/dev/null 2>&1
PUB=$("$LEDGER" token create upstream --role publisher 2>/dev/null)
ANALYST=$("$LEDGER" token create analyst --role analyst 2>/dev/null)
serve() {  # extra flags
  [[ -z ${PROJECTOR:-} ]] || { kill "$PROJECTOR"; wait "$PROJECTOR" 2>/dev/null || true; }
  "$LEDGER" project --metrics-listen "" --http-listen "${API#http://}" --group refold-bench "$@" \
    >>"$WORK/projector.log" 2>&1 &
  PROJECTOR=$!
  for _ in $(seq 100); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.1; done
  "$LEDGER" status --wait 120 >/dev/null  # caught up (and a stale account settled) first
}

# One sample: an event for a new account published over HTTP, then asked about with
# the position publishing returned; milliseconds from publishing to the answer.
sample() {  # n
  local id start pos account=Q-$1-$RANDOM
  id=$(python3 -c 'import uuid; print(uuid.uuid4())')
  start=$(date +%s%N)
  pos=$(curl -sf -H "Authorization: Bearer $PUB" --data-binary \
    "{\"type\":\"AccountOpened\",\"account_id\":\"$account\",\"event_id\":\"$id\",\"data\":{\"name\":\"q\"}}" \
    "$API/v1/events" | python3 -c 'import json,sys; print(json.load(sys.stdin)["min_position"])')
  curl -sf -o /dev/null -H "Authorization: Bearer $ANALYST" \
    "$API/v1/entitlement?account=$account&product=x&min_position=$pos&max_wait_ms=10000" || echo "timeout" >&2
  echo $((($(date +%s%N) - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
phase() {  # name
  for i in $(seq 1 "$SAMPLES"); do sample "$1-$i"; sleep 0.2; done >"$WORK/$1.ms"
  echo "$1: median $(median <"$WORK/$1.ms") ms, slowest $(sort -n "$WORK/$1.ms" | tail -n 1) ms"
}
trickle() {
  ( n=0
    while :; do
      n=$((n + 1))
      printf '%s\n%s\n' \
        "{\"type\":\"AgreementRenewed\",\"account_id\":\"LONG\",\"occurred_at\":\"2020-01-01T00:05:00Z\",\"data\":{\"agreement_id\":\"AG-1\",\"ends_at\":\"2031-01-0$((n % 9 + 1))\"}}" \
        "{\"type\":\"AgreementRenewed\",\"account_id\":\"LONG\",\"data\":{\"agreement_id\":\"AG-1\",\"ends_at\":\"2032-01-0$((n % 9 + 1))\"}}" |
        "$LEDGER" publish - >/dev/null 2>&1
      sleep 0.7
    done ) &
  TRICKLE=$!
  sleep 3
}
stop_trickle() { kill "$TRICKLE"; wait "$TRICKLE" 2>/dev/null || true; TRICKLE=""; }

serve --refold-beside 0
phase quiet
trickle
phase in_batch
stop_trickle
serve
trickle
phase beside
stop_trickle
quiet=$(median <"$WORK/quiet.ms")
for name in in_batch beside; do
  m=$(median <"$WORK/$name.ms")
  echo "ratio $name / quiet: $(awk -v a="$m" -v b="$quiet" 'BEGIN {printf "%.1f", a / (b > 0 ? b : 1)}')"
done
echo "refolds in the batch logged: $(grep -c "refolded account LONG in partition" "$WORK/projector.log")"
echo "refolds beside the projection logged: $(grep -c "beside the projection:" "$WORK/projector.log")"
