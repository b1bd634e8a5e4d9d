#!/usr/bin/env bash
# Integration: the projector group, sound and safe (one broker, 4 partitions, from the
# CTest fixture). Two instances a and b of group G share a secret; an instance c of
# another group G2, with its own secret and tokens, runs on the same topics. Then:
#   - records forged on ledger.instances by whoever can write to Kafka (no secret: another
#     URL owning every partition, an ftp:// URL, a tombstone for a live instance): no
#     question goes there (a listener at that URL records what it receives), answers stay
#     right;
#   - no question of G goes to c, and c answers its own callers like a clean replay;
#   - a client that sends the forwarding headers itself gets the whole list, not a part;
#   - a min_position naming partitions the asked instance does not hold is answered;
#   - b, restarted after accounts changed while it was down, and d, a new instance, are
#     asked in a loop from the moment they start: never the old state, never "unknown".
# Every answer is compared with a clean replay's; no duration is asserted.
# Usage: group_safety.sh LEDGER_BINARY SYNTH_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-safety-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
# owned_by; this test's own ask, want and start (below) take a token and a group.
source "$ROOT/tests/support/group.sh"
declare -A PID URL
listener=""
cleanup() {
  for p in "${PID[@]}" $listener; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/*.log; do echo "--- $f"; tail -n 5 "$f"; done
  exit 1
}
RUN=$RANDOM$RANDOM
G=safety-$RUN
G2=other-$RUN
PYTHON=$("$ROOT/ops/python-env.sh")
"$SYNTH" 8000 60 "$RUN" "SF$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >/dev/null
(umask 077 && openssl rand -hex 32 >"$WORK/secret" && openssl rand -hex 32 >"$WORK/secret2")
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create analyst --role analyst --tokens "$WORK/tokens" 2>/dev/null)
TOKEN2=$("$LEDGER" --brokers "$BROKERS" token create analyst2 --role analyst --tokens "$WORK/tokens2" 2>/dev/null)
mapfile -t PORTS < <(free_ports 5)
echo "session.timeout.ms=6000" >"$WORK/kafka.properties"

start() {  # name port group secret tokens
  URL[$1]=http://127.0.0.1:$2
  "$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/kafka.properties" --data-dir "$WORK/$1" project \
    --group "$3" --group-secret "$4" --instance-id "$3-$1" --metrics-listen "" --http-listen "127.0.0.1:$2" \
    --tokens "$5" >>"$WORK/$1.log" 2>&1 &
  PID[$1]=$!
}
# ask NAME ACCOUNT [TOKEN]: "STATUS INSTANCE BODY" for the entitlement question.
ask() {
  local h=$WORK/.h.$BASHPID b=$WORK/.b.$BASHPID code
  code=$(curl -s -m 15 -D "$h" -o "$b" -w '%{http_code}' -H "Authorization: Bearer ${3:-$TOKEN}" \
    "${URL[$1]}/v1/entitlement?account=$2&product=backup-exec&at=2026-01-01T00:00:00Z" || true)
  printf '%s %s ' "${code:-000}" "$(tr -d '\r' <"$h" 2>/dev/null | sed -n 's/^X-Ledger-Instance: //Ip')"
  cat "$b" 2>/dev/null || true
  rm -f "$h" "$b"
}
replay() {  # the clean replay of everything published so far, into $WORK/clean
  rm -rf "$WORK/clean"
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/clean" project --group "clean-$RUN-$RANDOM" --metrics-listen "" \
    --http-listen "" --until-caught-up >"$WORK/clean.log" 2>&1
}
want() {
  "$LEDGER" --data-dir "$WORK/clean" query entitlement --account "$1" --product backup-exec \
    --at 2026-01-01T00:00:00Z --format json
}
ready() {  # name: waits until /readyz says 200
  for _ in $(seq 1 120); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "${URL[$1]}/readyz") == 200 ]] && return 0
    sleep 0.5
  done
  fail "$1 never became ready: $(curl -s "${URL[$1]}/readyz")"
}

start a "${PORTS[0]}" "$G" "$WORK/secret" "$WORK/tokens"
start b "${PORTS[1]}" "$G" "$WORK/secret" "$WORK/tokens"
start c "${PORTS[2]}" "$G2" "$WORK/secret2" "$WORK/tokens2"
replay
mapfile -t ACCOUNTS < <(grep -o '"account_id":"[^"]*"' "$WORK/events.jsonl" | sort -u | cut -d'"' -f4)
mkdir -p "$WORK/want"
for account in "${ACCOUNTS[@]}"; do want "$account" >"$WORK/want/$account"; done
ready a
ready b
ready c
# Both instances of G own partitions and have caught up with them (4 between two): until
# the group's rebalances are over, partitions move and their questions are 503.
settled=""
for _ in $(seq 1 120); do
  oa=$(owned_by a) ob=$(owned_by b)
  if [[ -n $oa && -n $ob && $(echo $oa $ob | wc -w) == 4 ]]; then settled=yes; break; fi
  sleep 0.5
done
[[ -n $settled ]] || fail "a ($(owned_by a)) and b ($(owned_by b)) never shared the 4 partitions"

# right NAME [TOKEN] [NOT_FROM]: every account asked of NAME gets the clean replay's answer,
# never served by instance NOT_FROM. Prints how many were forwarded.
right() {
  local name=$1 token=${2:-$TOKEN} not_from=${3:-none} got status instance forwarded=0
  for account in "${ACCOUNTS[@]}"; do
    got=$(ask "$name" "$account" "$token")
    read -r status instance _ <<<"$got"
    [[ $status == 200 && ${got#* * } == "$(cat "$WORK/want/$account")" ]] ||
      fail "$name answered $account with '$got', the clean replay with '$(cat "$WORK/want/$account")'"
    [[ $instance != "$not_from" ]] || fail "$account, asked of $name, was answered by $instance"
    [[ $instance == "$G-$name" || $instance == "$G2-$name" ]] || forwarded=$((forwarded + 1))
  done
  echo "$forwarded"
}
echo "--- two groups on one cluster"
fa=$(right a "$TOKEN" "$G2-c")
fb=$(right b "$TOKEN" "$G2-c")
echo "G answers all ${#ACCOUNTS[@]} accounts through a ($fa forwarded) and b ($fb forwarded), none by c"
((fa > 0 && fb > 0)) || fail "no question was forwarded between a and b"
fc=$(right c "$TOKEN2")
echo "G2's c answers its own callers like the clean replay ($fc forwarded)"
((fc == 0)) || fail "c forwarded $fc questions: it has no peer in its group"
[[ $(ask c "${ACCOUNTS[0]}" | cut -d' ' -f1) == 401 ]] || fail "c accepted G's token"
others=$(curl -s -H "Authorization: Bearer $TOKEN" "${URL[a]}/v1/status" |
  "$PYTHON" -c 'import json,sys; print(" ".join(o["instance"] for o in json.load(sys.stdin)["group"]["others"]))')
[[ $others == "$G-b" ]] || fail "a sees '$others' in its group, not only $G-b"

echo "--- records forged on ledger.instances"
# A listener where the forged records point: it records every request it gets.
"$PYTHON" - "${PORTS[3]}" "$WORK/listener.txt" <<'EOF' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(out, "a") as f:
            f.write(self.path + " " + repr(dict(self.headers)) + "\n")
        body = b'{"entitled":true,"forged":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
listener=$!
: >"$WORK/listener.txt"
forge() {  # keeps writing forged records for a few seconds (announcements are fresh for 3 s)
  "$PYTHON" - "$BROKERS" "$G" "${PORTS[3]}" <<'EOF'
import json, sys, time
from confluent_kafka import Producer
brokers, group, port = sys.argv[1], sys.argv[2], sys.argv[3]
p = Producer({"bootstrap.servers": brokers})
now = lambda: int(time.time() * 1000)
for _ in range(8):
    evil = {"group": group, "instance": "evil", "sent_at": now(), "url": "http://127.0.0.1:" + port,
            "owned": [0, 1, 2, 3], "restoring": [], "standby": [], "partition_count": 4, "positions": {}, "behind": {}}
    p.produce("ledger.instances", key=group + "/evil", value=json.dumps(evil))
    p.produce("ledger.instances", key="evil", value=json.dumps(dict(evil, group="")))  # the old key format
    p.produce("ledger.instances", key=group + "/evil", value=json.dumps(evil),
              headers=[("ledger-signature", "00" * 32)])
    ftp = dict(evil, instance="ftp", url="ftp://127.0.0.1:21")
    p.produce("ledger.instances", key=group + "/ftp", value=json.dumps(ftp))
    p.produce("ledger.instances", key=group + "/" + group + "-a", value=None)  # a tombstone for a live instance
    p.flush(10)
    time.sleep(0.5)
EOF
}
forge &
forger=$!
sleep 1
fa=$(right a)
fb=$(right b)
wait "$forger"
echo "during the forgeries: a and b answered all ${#ACCOUNTS[@]} accounts right"
[[ ! -s $WORK/listener.txt ]] || fail "the forged address received: $(head -c 500 "$WORK/listener.txt")"
ignored=$(grep -c "a record ignored" "$WORK/a.log" || true)
echo "the forged URL received nothing; a logged $ignored ignored record(s)"
((ignored > 0)) || fail "a did not log the forged records it ignored"

echo "--- forwarding headers sent by a client"
list() {  # instance [extra curl args...]: the open-cases list's total
  local name=$1
  shift
  curl -s -H "Authorization: Bearer $TOKEN" "$@" "${URL[$name]}/v1/lists/open-cases?at=2026-01-01T00:00:00Z&limit=1" |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}
whole=$(list a)
spoofed=$(list a -H "X-Ledger-Forwarded: $G-b")
spoofed_part=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Ledger-Forwarded: $G-b" \
  "${URL[a]}/v1/lists/open-cases?at=2026-01-01T00:00:00Z&partitions=0")
echo "open cases: $whole; with a client's X-Ledger-Forwarded: $spoofed; without a token: $spoofed_part"
[[ $spoofed == "$whole" ]] || fail "a client's forwarding header changed the list ($spoofed of $whole)"
[[ $spoofed_part == 401 ]] || fail "a client's forwarding header stood in for a token ($spoofed_part)"

echo "--- min_position naming partitions the asked instance does not hold"
# Accounts on every partition, one publish: its positions name all four partitions.
for account in "${ACCOUNTS[@]:0:8}"; do
  printf '{"type":"ContactDesignated","account_id":"%s","occurred_at":"2025-03-01T00:00:00Z","data":{"contact_id":"MP-%s","name":"Pat","email":"pat@example.com"}}\n' \
    "$account" "$account"
done >"$WORK/more.jsonl"
positions=$("$LEDGER" --brokers "$BROKERS" publish "$WORK/more.jsonl" --print-positions | sed -n 's/^positions //p')
[[ $positions == *,* ]] || fail "publishing returned no positions across partitions: '$positions'"
for name in a b; do
  code=$(curl -s -o "$WORK/mp.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "${URL[$name]}/v1/entitlement?account=${ACCOUNTS[0]}&product=backup-exec&at=2026-01-01T00:00:00Z&min_position=$positions&max_wait_ms=10000")
  [[ $code == 200 ]] || fail "$name answered $code to min_position=$positions: $(cat "$WORK/mp.json")"
done
echo "a and b answered with min_position=$positions"

echo "--- an owner restarted after accounts changed while it was down; a new instance"
kill -KILL "${PID[b]}"
wait "${PID[b]}" 2>/dev/null || true
"$SYNTH" 3000 60 "$((RUN + 1))" "SF$RUN" >"$WORK/changes.jsonl"  # the same accounts, new events
"$LEDGER" --brokers "$BROKERS" publish "$WORK/changes.jsonl" --flush-timeout 120 >/dev/null
replay
for account in "${ACCOUNTS[@]}"; do want "$account" >"$WORK/want/$account"; done
# asked_in_a_loop NAME SECONDS: from the moment NAME starts, every account in turn; an
# answer is the clean replay's or a 503 (not ready, ask again), nothing else.
asked_in_a_loop() {
  local name=$1 until=$(($(date +%s) + $2)) got status right=0 refused=0
  while (($(date +%s) < until)); do
    for account in "${ACCOUNTS[@]}"; do
      got=$(ask "$name" "$account")
      read -r status _ <<<"$got"
      case $status in
        200) [[ ${got#* * } == "$(cat "$WORK/want/$account")" ]] ||
               fail "$name answered $account with '$got' (the clean replay: '$(cat "$WORK/want/$account")')"
             right=$((right + 1)) ;;
        503 | 000) refused=$((refused + 1)) ;;  # not ready yet, or not listening yet
        *) fail "$name answered $account with '$got'" ;;
      esac
    done
  done
  echo "$name: $right right answers, $refused told to ask again"
  ((right > 0)) || fail "$name never answered"
}
start b "${PORTS[1]}" "$G" "$WORK/secret" "$WORK/tokens"
asked_in_a_loop b 20
start d "${PORTS[4]}" "$G" "$WORK/secret" "$WORK/tokens"
asked_in_a_loop d 15
echo "PASS: groups kept apart, forged records ignored, no token forwarded, positions of other partitions ignored, no answer before an instance knows its group"
