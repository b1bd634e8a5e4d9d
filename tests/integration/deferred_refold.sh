#!/usr/bin/env bash
# Integration: late events for a long account are folded beside the projection. A live
# projector leaves the account stale (ledger_projector_refolds_beside), answers it from
# its journal, stages the refold when done, and ends with the store a replay gives
# (`ledger verify`), also after a SIGKILL while the refold was running.
# Usage: deferred_refold.sh LEDGER_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-deferred-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
pid=""
cleanup() {
  [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$WORK"/project*.log; exit 1; }
RUN=$RANDOM$RANDOM
ACCOUNT=LONG-$RUN
L=("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/data")
mapfile -t PORTS < <(free_ports 2)
METRICS=127.0.0.1:${PORTS[0]}

python3 - "$ACCOUNT" >"$WORK/long.jsonl" <<'PY'
import json, sys, uuid
account = sys.argv[1]
def line(kind, minute, data):
    at = "2021-%02d-%02dT%02d:%02d:00Z" % (1 + minute // 40320 % 12, 1 + minute // 1440 % 28, minute // 60 % 24, minute % 60)
    return json.dumps({"type": kind, "account_id": account, "event_id": str(uuid.uuid4()), "occurred_at": at, "data": data})
print(line("AccountOpened", 0, {"name": "Long Ltd"}))
print(line("AgreementPurchased", 1, {"agreement_id": "AG-1", "offering": "BasicMaintenance", "starts_at": "2021-01-01",
                                     "ends_at": "2022-01-01", "lines": [{"line_id": "L1", "product": "web-gateway"}]}))
for i in range(40000):  # a journal of several MiB: refolded beside the projection
    print(line("AgreementRenewed", 10 + i, {"agreement_id": "AG-1", "ends_at": "2030-01-01"}))
PY
"${L[@]}" publish "$WORK/long.jsonl" >/dev/null

start() {  # log
  LOG=$WORK/$1
  "${L[@]}" project --group "deferred-$RUN" --instance-id "deferred-$RUN" --metrics-listen "$METRICS" \
    --http-listen "" >"$WORK/$1" 2>&1 &
  pid=$!
}
beside() { curl -s "http://$METRICS/metrics" | sed -n 's/^ledger_projector_refolds_beside \([0-9.e+]*\)$/\1/p'; }
late() {  # n: a renewal that belongs near the account's start
  printf '%s\n' "{\"type\":\"AgreementRenewed\",\"account_id\":\"$ACCOUNT\",\"occurred_at\":\"2021-01-01T00:05:0$1Z\",\"data\":{\"agreement_id\":\"AG-1\",\"ends_at\":\"2023-0$1-01\"}}" |
    "${L[@]}" publish - >/dev/null
}
settled() {  # waits until nothing is refolded beside and the log is projected
  for _ in $(seq 1 120); do grep -q "assigned" "$LOG" && break; sleep 0.5; done
  sleep 1  # a partition taken up with stale accounts says so at its first commit
  for _ in $(seq 1 240); do
    if [[ $(beside) == 0 ]] && "${L[@]}" status >"$WORK/status" 2>&1 && grep -q "lag 0 events" "$WORK/status"; then
      return 0
    fi
    sleep 0.5
  done
  fail "the refolds beside the projection did not end (gauge $(beside))"
}

start project-1.log
"${L[@]}" status --wait 300 >/dev/null || fail "the projector did not catch up"
for n in 1 2 3 4 5; do late "$n"; sleep 0.3; done
for _ in $(seq 1 60); do grep -q "is folded again beside the projection" "$WORK/project-1.log" && break; sleep 0.5; done
grep -q "is folded again beside the projection" "$WORK/project-1.log" || fail "the long account was refolded in the batch"
answer=$("${L[@]}" query entitlement --account "$ACCOUNT" --product web-gateway --at 2021-01-01T00:05:30Z --format json)
settled
echo "settled: $(grep -c 'beside the projection:' "$WORK/project-1.log") refold(s) beside the projection"
after=$("${L[@]}" query entitlement --account "$ACCOUNT" --product web-gateway --at 2021-01-01T00:05:30Z --format json)
echo "asked while stale: ${answer:0:160}"
[[ $answer == "$after" ]] || fail "the answer while stale differs from the settled one:"$'\n'"$answer"$'\n'"$after"

echo "--- a SIGKILL while the refold runs beside"
# Until a kill lands while the account is stale in the store (verify says so at once).
for n in 6 7 8 9; do
  late "$n"
  for _ in $(seq 1 100); do [[ $(beside) == 1 ]] && break; sleep 0.05; done
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  out=$(timeout 5 "${L[@]}" verify 2>&1 || true)
  if grep -q "is being folded again beside the projection" <<<"$out"; then
    echo "killed with the account stale: $(tail -n 1 <<<"$out")"
    stale_at_kill=yes
    break
  fi
  start "project-$n.log"
  settled
done
[[ -n ${stale_at_kill:-} ]] || fail "no kill landed while the account was stale"
start project-restarted.log
settled
grep -q "beside the projection:" "$WORK/project-restarted.log" || fail "the restarted projector did not refold the stale account"
kill -TERM "$pid"
wait "$pid" || true
pid=""
out=$("${L[@]}" verify 2>&1) || fail "verify: $out"
echo "$out" | tail -n 2
echo "PASS: refolded beside the projection, answered from the journal meanwhile, and equal to a replay"
