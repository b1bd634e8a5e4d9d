#!/usr/bin/env bash
# Integration: what a careless upstream system or an attacker sends, against a projector
# serving its HTTP API on a real broker. Each bad input gets a clear refusal, the
# processes stay up and within memory, and nothing is left behind.
# Usage: hardening.sh LEDGER_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-hardening-XXXXXX)
export TMPDIR=$WORK/tmp  # the readers' scratch directories go here, and are counted
mkdir -p "$TMPDIR"
source "$ROOT/tests/support/free_port.sh"
pid=""
cleanup() {
  [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $WORK/project.log ]] && tail -n 20 "$WORK/project.log"; exit 1; }
expect() { grep -qF -- "$1" <<<"$2" || fail "expected '$1' in:"$'\n'"$2"; }
RUN=$RANDOM$RANDOM
L=("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/data")

# 60,000 open cases over 200 accounts: more than a list may read here (--list-max-entries 50000).
python3 - "$RUN" >"$WORK/cases.jsonl" <<'PY'
import json, sys
run = sys.argv[1]
for a in range(200):
    account = "HC-%s-%d" % (run, a)
    def line(kind, at, data):
        return json.dumps({"type": kind, "account_id": account, "occurred_at": at, "data": data})
    print(line("AccountOpened", "2025-01-01", {"name": "n", "region": "EMEA"}))
    print(line("ContactDesignated", "2025-01-02", {"contact_id": "C1", "name": "c"}))
    print(line("AgreementPurchased", "2025-01-03", {"agreement_id": "AG-1", "offering": "BasicMaintenance",
               "starts_at": "2025-01-01", "ends_at": "2027-01-01", "lines": [{"line_id": "L1", "product": "p"}]}))
    for c in range(300):
        print(line("CaseOpened", "2025-02-01T%02d:%02d:00Z" % (c // 60, c % 60),
                   {"case_id": "K-%d" % c, "contact_id": "C1", "product": "p", "severity": 3}))
PY
"${L[@]}" publish "$WORK/cases.jsonl" >/dev/null
PORT=$(free_ports 1)
API=http://127.0.0.1:$PORT
ANALYST=$("$LEDGER" --brokers "$BROKERS" token create analyst --role analyst --tokens "$WORK/tokens" 2>/dev/null)
PUBLISHER=$("$LEDGER" --brokers "$BROKERS" token create upstream --role publisher --tokens "$WORK/tokens" 2>/dev/null)
"${L[@]}" project --group "hardening-$RUN" --metrics-listen "" --http-listen "127.0.0.1:$PORT" \
  --tokens "$WORK/tokens" --list-max-entries 50000 >"$WORK/project.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -sf "$API/healthz" >/dev/null 2>&1 && grep -q "assigned" "$WORK/project.log" && break
  sleep 0.5
done
grep -q "assigned" "$WORK/project.log" || fail "the projector did not start"
ask() {  # path -> "status body"
  local body
  body=$(mktemp "$WORK/body-XXXXXX")
  curl -s -o "$body" -w '%{http_code}' -H "Authorization: Bearer $ANALYST" "$API$1"
  printf ' '
  cat "$body"
}
rss_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

echo "--- a line nested 100,000 deep"
deep=$(printf '{"type":"AccountOpened","account_id":"HD-%s","event_id":"0193f000-0000-7000-8000-%012d","data":' "$RUN" 1)
deep+=$(head -c 100000 /dev/zero | tr '\0' '[')$(head -c 100000 /dev/zero | tr '\0' ']')'}'
printf '%s\n' "$deep" >"$WORK/deep.jsonl"
set +e
out=$(/usr/bin/time -f 'max-rss-kb %M' "${L[@]}" publish "$WORK/deep.jsonl" 2>&1)
rc=$?
set -e
echo "$out" | cut -c1-200
[[ $rc -eq 1 ]] || fail "ledger publish of the deep line exited $rc (1: a line rejected)"
expect "deep.jsonl:1: data[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 16 levels" "$out"
publish_kb=$(sed -n 's/^max-rss-kb //p' <<<"$out")
((publish_kb < 200000)) || fail "ledger publish took $publish_kb kB for one line"
before_kb=$(rss_kb "$pid")
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $PUBLISHER" --data-binary @"$WORK/deep.jsonl" "$API/v1/events")
echo "POST /v1/events: $code $(cut -c1-300 "$WORK/body")"
expect "nested deeper than 16 levels" "$(cat "$WORK/body")"
kill -0 "$pid" 2>/dev/null || fail "the projector died on the deep line"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$API/healthz") == 200 ]] || fail "/healthz does not answer"
after_kb=$(rss_kb "$pid")
echo "projector peak resident memory: $before_kb kB before the line, $after_kb kB after"
((after_kb - before_kb < 100000)) || fail "the deep line cost the projector $((after_kb - before_kb)) kB"

echo "--- a key given twice"
set +e
out=$(printf '%s\n' '{"type":"AccountOpened","account_id":"A1","account_id":"A2","data":{"name":"n"}}' |
  "${L[@]}" publish - 2>&1)
set -e
expect "<stdin>:1: the key 'account_id' is given twice" "$out"
expect "published 0 of 0 events" "$out"

echo "--- times outside years 1971-9999 (UTC)"
out=$(ask "/v1/entitlement?account=A1&product=p&at=9999-12-31T23:59:59-23:00")
echo "$out"
[[ $out == 400* ]] || fail "a time in year 10000 was not a 400"
expect "outside the times the ledger accepts: years 1971 to 9999, in UTC" "$out"
set +e
out=$(printf '%s\n' '{"type":"AccountOpened","account_id":"A1","occurred_at":"1970-06-01","data":{"name":"n"}}' |
  "${L[@]}" publish - 2>&1)
set -e
expect "<stdin>:1: occurred_at: '1970-06-01' is outside the times the ledger accepts" "$out"

echo "--- min_position naming a partition that does not exist"
start=$(date +%s%N)
out=$(ask "/v1/entitlement?account=A1&product=p&min_position=99:0&max_wait_ms=10000")
took_ms=$((($(date +%s%N) - start) / 1000000))
echo "$out (${took_ms} ms)"
[[ $out == 400* ]] || fail "min_position=99:0 was not a 400"
expect "min_position: partition 99 does not exist (ledger.events has" "$out"

echo "--- lists over 60,000 open cases take turns; /healthz and questions keep answering"
"${L[@]}" status --wait 300 >/dev/null || fail "the projector did not catch up"
for i in 1 2 3 4 5 6; do
  (ask "/v1/lists/open-cases?limit=1&at=2025-03-01" >"$WORK/list-$i" 2>&1) &
done
health=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
point=$(ask "/v1/entitlement?account=HC-$RUN-7&product=p&at=2025-03-01")
for job in $(jobs -p); do [[ $job == "$pid" ]] || wait "$job" || true; done
wait_lists=0
too_large=0
for i in 1 2 3 4 5 6; do
  s=$(head -c 3 "$WORK/list-$i")
  [[ $s == 422 || $s == 503 ]] || fail "a list over 60,000 open cases got $(head -c 300 "$WORK/list-$i")"
  [[ $s == 503 ]] && { expect "list(s) are being answered already" "$(cat "$WORK/list-$i")"; wait_lists=$((wait_lists + 1)); }
  [[ $s == 422 ]] && { expect "open-cases: more than 50000 entries to read; narrow it" "$(cat "$WORK/list-$i")"; too_large=$((too_large + 1)); }
done
echo "/healthz: $health; a point question: ${point:0:3}; lists: $too_large too large (422), $wait_lists told to come back (503)"
[[ $health == 200 && ${point:0:3} == 200 ]] || fail "/healthz or a point question did not answer beside the lists"
expect '"entitled":true' "$point"
out=$(ask "/v1/lists/open-cases?limit=1&at=2025-03-01&account=HC-$RUN-7")
[[ $out == 200* ]] || fail "a list narrowed to one account was not answered: ${out:0:300}"
expect '"total":300' "$out"

echo "--- readers leave nothing behind"
dead=$(bash -c 'echo $$')  # a process that is gone
mkdir -p "$TMPDIR/ledger-query-$dead-killed"  # as a SIGKILLed reader leaves it
"${L[@]}" query entitlement --account A1 --product p >/dev/null
[[ ! -e $TMPDIR/ledger-query-$dead-killed ]] || fail "a dead reader's scratch directory was not removed"
kill -TERM "$pid"
wait "$pid" || true
pid=""
printf '%s\n' "{\"type\":\"AccountOpened\",\"account_id\":\"HD-$RUN\",\"data\":{\"name\":\"n\"}}" | "${L[@]}" publish - >/dev/null
"${L[@]}" status --wait 60 >/dev/null 2>&1 &  # waits: one event is not projected
waiter=$!
for _ in $(seq 1 50); do compgen -G "$TMPDIR/ledger-query-$waiter-*" >/dev/null && break; sleep 0.1; done
compgen -G "$TMPDIR/ledger-query-$waiter-*" >/dev/null || fail "ledger status made no scratch directory"
kill -TERM "$waiter"
wait "$waiter" || true
left=$(compgen -G "$TMPDIR/ledger-query-*" || true)
[[ -z $left ]] || fail "left behind after SIGTERM: $left"

echo "--- a data dir that is a file"
touch "$WORK/a-file"
set +e
out=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/a-file" project --group "hardening-file-$RUN" \
  --metrics-listen "" --until-caught-up 2>&1)
set -e
expect "the data dir $WORK/a-file is not a directory" "$out"

echo "--- the rebuild advice for a plain directory runs as printed"
mkdir "$WORK/plain dir"
"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/plain dir" project --group "hardening-plain-$RUN" \
  --metrics-listen "" --until-caught-up >/dev/null 2>&1
set +e
out=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/plain dir" rebuild 2>&1)
set -e
echo "$out"
advice=$(grep -E '^  mkdir -p ' <<<"$out") || fail "no command in the advice"
(cd "$WORK" && bash -c "$advice") || fail "the advice failed as printed: $advice"
out=$("$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/plain dir" rebuild 2>&1) || fail "rebuild after the advice: $out"
expect "generation 2" "$out"
echo "PASS: every bad input refused with its reason; the projector and publish stayed up and within memory"
