#!/usr/bin/env bash
# End-to-end: what a newcomer does (issue 2's acceptance test), with the `ledger` binary
# and the README's first command, on its own state directory and free ports.
# Usage: newcomer.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export LEDGER_BUILD_DIR=$1
LEDGER=$LEDGER_BUILD_DIR/ledger
WORK=$(mktemp -d /tmp/ledger-e2e-XXXXXX)
export LEDGER_VAR_DIR=$WORK/var

source "$ROOT/tests/support/free_port.sh"
mapfile -t PORTS < <(free_ports 4)
export KAFKA_PORT=${PORTS[0]} KAFKA_CONTROLLER_PORT=${PORTS[1]}
export LEDGER_METRICS_LISTEN=127.0.0.1:${PORTS[2]} LEDGER_HTTP_LISTEN=127.0.0.1:${PORTS[3]}
export LEDGER_BROKERS=127.0.0.1:$KAFKA_PORT LEDGER_DATA_DIR=$LEDGER_VAR_DIR/ledger
cleanup() { "$ROOT/ops/stack.sh" down >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
expect() {  # what output
  grep -qF -- "$1" <<<"$2" || fail "expected '$1' in:"$'\n'"$2"
}

echo "--- 1. the README's first command"
out=$("$ROOT/ops/quickstart.sh" 2>&1) || { echo "$out"; fail "quickstart failed"; }
expect "ledger query entitlement --account ACME-001" "$out"
expect "published 53 of 53 events" "$out"

echo "--- 2. a query it printed"
out=$("$LEDGER" query entitlement --account ACME-001 --product endpoint-protection --version 14.3 --at 2025-06-01)
echo "$out"
expect "entitled                 yes" "$out"
expect "basis                    kind=agreement id=AG-1001 offering=EssentialSupport from=2025-01-01T00:00:00Z until=2027-01-01T00:00:00Z" "$out"
expect "version_phase            full" "$out"
out=$("$LEDGER" query entitlement --account GLOBEX-002 --product backup-exec --at 2025-06-01 --format json)
expect '"entitled":false' "$out"
expect 'lapsed: it ended on 2025-01-01T00:00:00Z' "$out"
out=$("$LEDGER" query reference --type ProductVersionLifecycle)
expect '"key":"ProductVersionLifecycle/endpoint-protection/14.3@2023-05-01T00:00:00Z"' "$out"
expect '"end_of_standard_support_at":"2026-05-01T00:00:00Z"' "$out"
out=$("$LEDGER" query entitlement --account NOBODY --product backup-exec --format json)
expect '"account_status":"unknown"' "$out"
out=$("$LEDGER" query entitlement --account GLOBEX-02 --product backup-exec --format json 2>&1)
expect 'account GLOBEX-02 is unknown to the ledger; did you mean GLOBEX-002?' "$out"
out=$("$LEDGER" query entitlement --account ACME-001 --product x --at 2025-02-30 2>&1) && fail "an impossible date was accepted"
expect "day 30 does not exist" "$out"
out=$("$LEDGER" query case --account INITECH-003 --case CS-9001 --at 2025-06-03T04:00:00Z --explain)
expect "response.status          met" "$out"
expect "next_levels              AdvancedLine; VirtualTeam" "$out"
expect "type=EscalationRequested" "$out"
out=$("$LEDGER" query list sessions-without-consent --at 2025-12-01 --format csv)
expect "INITECH-003,Initech,RS-1,CS-9001,eng-sg-4,2025-06-03T03:30:00Z,no consent named for the session" "$out"
out=$("$LEDGER" query list anomalies --format jsonl)
expect '"reason":"escalation ESC-9 is for case CS-404, which is unknown"' "$out"
out=$("$LEDGER" query list nothing-like-this 2>&1) && fail "an unknown list was answered"
expect "unknown list" "$out"

echo "--- 3. publishing their own events, one line bad"
cat >"$WORK/mine.jsonl" <<'JSON'
{"type":"AccountOpened","account_id":"NEW-042","event_id":"0193f000-0000-7000-8000-000000000001","occurred_at":"2025-01-02T00:00:00Z","data":{"name":"Newcomer Ltd","region":"EMEA"}}
{"type":"AgreementPurchased","account_id":"NEW-042","data":{"agreement_id":"AG-9","offering":"Gold"}}
{"type":"AgreementPurchased","account_id":"NEW-042","event_id":"0193f000-0000-7000-8000-000000000003","occurred_at":"2025-01-02T00:00:00Z","data":{"agreement_id":"AG-9","offering":"BasicMaintenance","starts_at":"2025-02-01","ends_at":"2026-02-01","lines":[{"line_id":"L1","product":"web-gateway"}]}}
JSON
set +e
out=$("$LEDGER" publish "$WORK/mine.jsonl" 2>&1)
rc=$?
set -e
echo "$out"
[[ $rc -eq 1 ]] || fail "publish with a bad line exited $rc, not 1"
expect "mine.jsonl:2: data:" "$out"
expect "published 2 of 2 events" "$out"
# A terminal escape in a rejected line is shown escaped, never sent to the terminal.
set +e
out=$(printf '%s\n' '{"type":"AccountOpened","account_id":"X","data":{"\u001b[31mred":1}}' | "$LEDGER" publish - 2>&1)
set -e
expect 'unknown field' "$out"
[[ $out != *$'\e'* ]] || fail "a control character from the input reached the terminal: $(od -c <<<"$out" | head -3)"
"$LEDGER" status --wait 60 >/dev/null || fail "the projector did not catch up"
out=$("$LEDGER" query entitlement --account NEW-042 --product web-gateway --at 2025-06-01)
expect "entitled                 yes" "$out"
out=$(curl -sf "http://$LEDGER_METRICS_LISTEN/metrics") || fail "no /metrics"
expect 'ledger_projector_events_total{outcome="applied",type="AgreementPurchased"}' "$out"

echo "--- 3a. the HTTP API: the token quickstart made, ingest, an online checkpoint"
API=http://$LEDGER_HTTP_LISTEN
TOKEN=$(cat "$LEDGER_VAR_DIR/quickstart.token")
out=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/entitlement?account=NEW-042&product=web-gateway&at=2025-06-01")
expect '"entitled":true' "$out"
out=$(curl -s -w ' %{http_code}' "$API/v1/entitlement?account=NEW-042&product=web-gateway")
expect '"status":401}' "$out"
[[ $out == *' 401' ]] || fail "no 401 without a token"
# Answers before ingest: beside the HTTP API, events are applied (in the main thread) at nice 10.
projector=$(pgrep -P "$(cat "$LEDGER_VAR_DIR/projector.pid")" -x ledger) || fail "no projector under its supervisor"
ps -L -o tid=,nice= -p "$projector" | awk -v main="$projector" '$1 == main && $2 == 10' | grep -q . ||
  fail "the projector's applying thread does not run at nice 10 beside the HTTP API"
ps -L -o nice= -p "$projector" | grep -qx ' *0' || fail "the HTTP API's threads do not run at normal priority"
PUB=$("$LEDGER" token create e2e-upstream --role publisher 2>/dev/null)
out=$(printf '%s\n%s\n%s\n' \
  '{"type":"AccountOpened","account_id":"NEW-045","event_id":"0193f000-0000-7000-8000-000000000006","occurred_at":"2025-01-02","data":{"name":"Over HTTP"}}' \
  '{"type":"AccountOpened","account_id":"NEW-047","event_id":"0193f000-0000-7000-8000-000000000007","data":{"name":"No occurred_at"}}' \
  '{"type":"AccountOpened","account_id":"NEW-046","data":{"name":"No event id"}}' |
  curl -s -X POST --data-binary @- -H "Authorization: Bearer $PUB" -H "Content-Type: application/x-ndjson" "$API/v1/events")
expect '"published":2,"rejected":1' "$out"
# Read your writes: the positions the ingest returned, passed on to a question at once.
POS=$(sed -n 's/.*"min_position":"\([0-9:,]*\)".*/\1/p' <<<"$out")
[[ -n $POS ]] || fail "POST /v1/events returned no min_position: $out"
out=$(curl -s -D - -H "Authorization: Bearer $TOKEN" "$API/v1/entitlement?account=NEW-045&product=x&min_position=$POS&max_wait_ms=10000")
expect '"account_status":"active"' "$out"
# A position far ahead on the account's own partition (the one the answer reflects) is waited for.
P=$(tr -d '\r' <<<"$out" | sed -n 's/^X-Ledger-Position: \([0-9]*\):.*/\1/p')
[[ -n $P ]] || fail "the answer names no position: $out"
out=$(curl -s -D - -H "Authorization: Bearer $TOKEN" "$API/v1/entitlement?account=NEW-045&product=x&min_position=$P:999999999&max_wait_ms=100")
expect 'HTTP/1.1 503' "$out"
expect 'Retry-After: 1' "$out"
expect 'min_position not reached within 100 ms' "$out"
"$LEDGER" status --wait 60 >/dev/null || fail "the projector did not catch up"
# The operator's one command: lag, dead letters and the running projector's health.
out=$(LEDGER_TOKEN=$TOKEN "$LEDGER" status --api "$API" --format json)
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); p=s["projector"];
sys.exit(0 if s["lag"] == 0 and s["dead_letters"] == 0 and p["reachable"] and p["paused"] == ""
         and isinstance(p["events_per_second"], (int, float)) and s["projected"] > 0 else 1)' "$out" ||
  fail "ledger status --format json: $out"
out=$(LEDGER_TOKEN=$TOKEN "$LEDGER" status --api "$API")
expect "projector at $API: running; " "$out"
# An event without occurred_at is stamped with the time of the request, not 1970.
out=$("$LEDGER" query events --account NEW-047)
expect "\"occurred_at\":\"$(date -u +%Y-%m-%d)" "$out"
OPS=$("$LEDGER" token create e2e-operator --role operator 2>/dev/null)
out=$(curl -s -X POST -d '' -H "Authorization: Bearer $OPS" "$API/v1/admin/checkpoint?name=online")
expect '"checkpoint":"'"$WORK"'/var/ledger.checkpoints/online"' "$out"
[[ -n $("$LEDGER" --data-dir "$WORK/var/ledger.checkpoints/online" digest) ]] || fail "the online checkpoint cannot be read"
# Checkpoints go under their folder, by name: no path, no folder outside it, no
# existing name (RocksDB would empty NAME.tmp, following symbolic links).
out=$(curl -s -X POST -d '' -H "Authorization: Bearer $OPS" "$API/v1/admin/checkpoint?dir=$WORK/elsewhere")
expect '"status":400' "$out"
out=$(curl -s -X POST -d '' -H "Authorization: Bearer $OPS" "$API/v1/admin/checkpoint?name=..%2Fescaped")
expect 'is not 1-64 letters' "$out"
mkdir -p "$WORK/precious" && touch "$WORK/precious/keep"
ln -s "$WORK/precious" "$WORK/var/ledger.checkpoints/trap.tmp"
out=$(curl -s -X POST -d '' -H "Authorization: Bearer $OPS" "$API/v1/admin/checkpoint?name=trap")
expect 'exists already' "$out"
[[ -f $WORK/precious/keep && ! -e $WORK/elsewhere && ! -e $WORK/var/escaped ]] || fail "a checkpoint request wrote or deleted outside its folder"
"$LEDGER" token revoke e2e-operator >/dev/null
out=$(curl -s -X POST -d '' -H "Authorization: Bearer $OPS" "$API/v1/admin/checkpoint?name=x")
expect '"status":401' "$out"

echo "--- 3a'. the status page, in a headless browser"
sleep 10  # case counts are sampled every 10 s
dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=6000 --dump-dom \
  "$API/status#token=$TOKEN" 2>/dev/null) || fail "chromium could not load the status page"
expect '<b id="lag" class="">0</b>' "$dom"
expect '<td>NEW-045</td><td>applied</td>' "$dom"
expect '<td>AccountOpened</td>' "$dom"
grep -qE '<b id="projected">[1-9][0-9]*</b>' <<<"$dom" || fail "the status page shows nothing projected"
grep -qE '<b id="dead" class="">0</b>' <<<"$dom" || fail "the status page shows dead letters"
grep -qE '<b id="open-cases">2</b>' <<<"$dom" || fail "the status page does not show the 2 open sample cases"
expect '<div id="health" class="ok">running, caught up; last event recorded ' "$dom"
grep -qE '<svg class="spark" id="lag-spark" width="120" height="24"><polyline points="[0-9.,]+' <<<"$dom" ||
  fail "the status page draws no lag sparkline"
expect '<span class="next" id="dead-next"></span>' "$dom"  # no next step while there is nothing to do
dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=4000 --dump-dom \
  "$API/status#token=ldg_wrong" 2>/dev/null)
expect 'the bearer token is unknown or revoked' "$dom"
grep -q '<td>NEW-045</td>' <<<"$dom" && fail "the status page showed events without a valid token"

echo "--- 3a''. read your writes from the command line"
out=$(printf '%s\n' '{"type":"AccountOpened","account_id":"NEW-048","event_id":"0193f000-0000-7000-8000-000000000009","occurred_at":"2025-01-02","data":{"name":"Reads its writes"}}' |
  "$LEDGER" publish - --print-positions)
expect "published 1 of 1 events" "$out"
POS=$(sed -n 's/^positions //p' <<<"$out")
[[ $POS =~ ^[0-9]+:[0-9]+$ ]] || fail "publish --print-positions printed no position: $out"
out=$("$LEDGER" query entitlement --account NEW-048 --product x --min-position "$POS" --max-wait-ms 10000 --format json)
expect '"account_status":"active"' "$out"
set +e
out=$("$LEDGER" query entitlement --account NEW-048 --product x --min-position 0:999999999 --max-wait-ms 100 2>&1)
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "a position not reached exited $rc, not 2"
expect 'min_position not reached within 100 ms' "$out"

echo "--- 3b. a missing broker is a clear error, not a hang"
set +e
out=$("$LEDGER" --brokers 127.0.0.1:1 publish "$WORK/mine.jsonl" --flush-timeout 3 2>&1)
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "publishing to a missing broker exited $rc, not 2"
expect "mine.jsonl:1: not delivered: not acknowledged within 3000 ms" "$out"
# An explanation needs no broker: the events behind it come from the account's journal.
start=$(date +%s)
out=$("$LEDGER" --brokers 127.0.0.1:1 query case --account INITECH-003 --case CS-9001 --at 2025-06-03T04:00:00Z \
  --explain --format json) || fail "an explanation without a broker failed: $out"
took=$(($(date +%s) - start))
expect '"status":"open"' "$out"
expect '"type":"CaseOpened"' "$out"
[[ $took -le 3 ]] || fail "an explanation without a broker took ${took}s"

echo "--- 3c. rebuild beside the live store, switch, and the running projector moves over"
out=$("$LEDGER" rebuild 2>&1) || { echo "$out"; fail "rebuild failed"; }
echo "$out" | tail -n 1
expect "now names generation 2" "$out"
[[ -d $LEDGER_DATA_DIR.stores/1 && -d $LEDGER_DATA_DIR.stores/2 ]] || fail "the old generation is gone"
out=$("$LEDGER" query entitlement --account NEW-042 --product web-gateway --at 2025-06-01)
expect "entitled                 yes" "$out"
echo '{"type":"AccountOpened","account_id":"NEW-044","event_id":"0193f000-0000-7000-8000-000000000005","data":{"name":"After the rebuild"}}' |
  "$LEDGER" publish - >/dev/null
"$LEDGER" status --wait 60 >/dev/null || fail "the projector did not move over to the rebuilt store"
out=$("$LEDGER" query events --account NEW-044)
expect '"name":"After the rebuild"' "$out"

echo "--- 4. stop, start, every answer still there; a second quickstart is quick"
"$ROOT/ops/stack.sh" down
before=$("$LEDGER" digest)
out=$("$LEDGER" checkpoint "$WORK/ckpt") || fail "checkpoint failed: $out"
expect "written to $WORK/ckpt" "$out"
[[ $("$LEDGER" --data-dir "$WORK/ckpt" digest) == "$before" ]] || fail "the checkpoint differs from the store"
"$ROOT/ops/stack.sh" up
out=$("$LEDGER" query entitlement --account NEW-042 --product web-gateway --at 2025-06-01)
expect "entitled                 yes" "$out"
start=$(date +%s)
out=$("$ROOT/ops/quickstart.sh" 2>&1) || { echo "$out"; fail "second quickstart failed"; }
took=$(($(date +%s) - start))
grep -q "published 53" <<<"$out" && fail "the second run published the sample again"
out=$("$LEDGER" query entitlement --account ACME-001 --product endpoint-protection --at 2025-06-01)
expect "entitled                 yes" "$out"
echo "second quickstart took ${took}s"

echo "--- 5. restore the checkpoint and catch up: the same state as the live store"
echo '{"type":"AccountOpened","account_id":"NEW-043","event_id":"0193f000-0000-7000-8000-000000000004","data":{"name":"After the checkpoint"}}' |
  "$LEDGER" publish - >/dev/null
"$LEDGER" status --wait 60 >/dev/null || fail "the projector did not catch up"
"$ROOT/ops/stack.sh" down
live=$("$LEDGER" digest)
"$ROOT/ops/kafka.sh" up >/dev/null 2>&1  # the broker alone
"$LEDGER" --data-dir "$WORK/ckpt" project --group e2e-restore --metrics-listen "" --until-caught-up >/dev/null 2>&1 ||
  fail "catching up from the checkpoint failed"
[[ $("$LEDGER" --data-dir "$WORK/ckpt" digest) == "$live" ]] || fail "restore + catch-up differs from the live store"
echo "PASS: newcomer flow"
