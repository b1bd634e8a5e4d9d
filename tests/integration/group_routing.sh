#!/usr/bin/env bash
# Integration: two projectors share the group, each with its own store and HTTP API.
# Every account question asked of either instance is answered by the instance owning the
# account's partition (forwarded through ledger.instances), and equals the answer of a
# clean single-instance replay; the answer names the instance that served it.
# With --tls the whole group serves HTTPS (one certificate for the group, its own CA):
# clients and the instances themselves talk TLS only.
# Usage: group_routing.sh LEDGER_BINARY SYNTH_BINARY [--tls]   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
TLS=${3:-}
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-routing-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM
GROUP=routing-$RUN
ACCOUNTS=200
"$SYNTH" 20000 "$ACCOUNTS" "$RUN" "RT$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >/dev/null
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create routing --role analyst --tokens "$WORK/tokens" 2>/dev/null)
(umask 077 && openssl rand -hex 32 >"$WORK/group-secret")
SCHEME=http
TLS_ARGS=()
CURL=(curl -s)
CHROMIUM_ARGS=()
if [[ $TLS == --tls ]]; then
  SCHEME=https
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/group.key" -out "$WORK/group.pem" -days 2 \
    -subj "/CN=ledger-group" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
  chmod 600 "$WORK/group.key"
  TLS_ARGS=(--tls-cert "$WORK/group.pem" --tls-key "$WORK/group.key")
  CURL=(curl -s --cacert "$WORK/group.pem")
  CHROMIUM_ARGS=(--ignore-certificate-errors)
fi
mapfile -t PORTS < <(free_ports 2)
declare -A URL
i=0
for name in a b; do
  URL[$name]=$SCHEME://127.0.0.1:${PORTS[$i]}
  # b announces the address the others reach it at in a spelling of its own.
  advertise=""
  [[ $name == b ]] && advertise=$SCHEME://localhost:${PORTS[$i]}
  "$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/$name" project --group "$GROUP" --group-secret "$WORK/group-secret" --instance-id "$GROUP-$name" \
    --metrics-listen "" --http-listen "127.0.0.1:${PORTS[$i]}" --http-advertise "$advertise" --tokens "$WORK/tokens" \
    "${TLS_ARGS[@]}" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
  i=$((i + 1))
done
# The clean replay, alone in a group of its own: the answers to compare with.
"$LEDGER" --brokers "$BROKERS" --data-dir "$WORK/clean" project --group "clean-$RUN" --metrics-listen "" \
  --http-listen "" --until-caught-up >"$WORK/clean.log" 2>&1
for _ in $(seq 1 60); do
  grep -q "assigned" "$WORK/a.log" && grep -q "assigned" "$WORK/b.log" && break
  sleep 0.5
done
grep -q "assigned" "$WORK/a.log" && grep -q "assigned" "$WORK/b.log" ||
  { echo "FAIL: the two projectors did not share the partitions"; tail -n 5 "$WORK"/*.log; exit 1; }
echo "a holds: $(grep -o 'assigned ledger.events \[[0-9]*\]' "$WORK/a.log" | tr '\n' ' ')"
echo "b holds: $(grep -o 'assigned ledger.events \[[0-9]*\]' "$WORK/b.log" | tr '\n' ' ')"

ask() {  # instance account -> "status instance body"
  "${CURL[@]}" -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "${URL[$1]}/v1/entitlement?account=$2&product=backup-exec&at=2026-01-01T00:00:00Z"
  printf ' %s ' "$(tr -d '\r' <"$WORK/headers" | sed -n 's/^X-Ledger-Instance: //Ip')"
  cat "$WORK/body"
}
# Both instances caught up: every account answered, from either instance.
mapfile -t SAMPLE < <(grep -o '"account_id":"[^"]*"' "$WORK/events.jsonl" | sort -u | shuf -n 40 --random-source=<(yes) | cut -d'"' -f4)
for _ in $(seq 1 120); do
  behind=0
  for account in "${SAMPLE[@]}"; do
    want=$("$LEDGER" --data-dir "$WORK/clean" query entitlement --account "$account" --product backup-exec \
      --at 2026-01-01T00:00:00Z --format json)
    got=$(ask a "$account")
    [[ ${got#* * } == "$want" ]] || { behind=1; break; }
  done
  ((behind)) || break
  sleep 1
done
((behind == 0)) || { echo "FAIL: instance a did not give the clean replay's answer for $account"; echo "want: $want"; echo "got:  $got"; exit 1; }
served=()
for account in "${SAMPLE[@]}"; do
  want=$("$LEDGER" --data-dir "$WORK/clean" query entitlement --account "$account" --product backup-exec \
    --at 2026-01-01T00:00:00Z --format json)
  for name in a b; do
    got=$(ask "$name" "$account")
    read -r status instance _ <<<"$got"
    [[ $status == 200 && ${got#* * } == "$want" ]] ||
      { echo "FAIL: instance $name answered $account with $got, the clean replay with $want"; exit 1; }
    served+=("$name:$instance")
  done
done
forwarded_a=$(printf '%s\n' "${served[@]}" | grep -c "^a:$GROUP-b$" || true)
forwarded_b=$(printf '%s\n' "${served[@]}" | grep -c "^b:$GROUP-a$" || true)
echo "${#SAMPLE[@]} accounts asked of both instances: the clean replay's answers; a forwarded $forwarded_a to b, b forwarded $forwarded_b to a"
((forwarded_a > 0 && forwarded_b > 0)) || { echo "FAIL: no question was answered by the other instance"; exit 1; }
# a knows b by the address b advertised.
announced=$("${CURL[@]}" -H "Authorization: Bearer $TOKEN" "${URL[a]}/v1/status" |
  python3 -c 'import json,sys; print(" ".join(o["url"] for o in json.load(sys.stdin)["group"]["others"]))')
echo "a knows the others at: $announced"
[[ $announced == "$SCHEME://localhost:${PORTS[1]}" ]] || { echo "FAIL: b's --http-advertise is not what a knows"; exit 1; }
# a's status page shows the group: itself and b, with their addresses.
dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu "${CHROMIUM_ARGS[@]}" --virtual-time-budget=6000 --dump-dom \
  "${URL[a]}/status#token=$TOKEN" 2>/dev/null) || { echo "FAIL: chromium could not load a's status page"; exit 1; }
for row in "<td>$GROUP-a</td><td>${URL[a]}</td>" "<td>$GROUP-b</td><td>$SCHEME://localhost:${PORTS[1]}</td>"; do
  grep -qF "$row" <<<"$dom" || { echo "FAIL: a's status page lacks the group row $row"; exit 1; }
done
echo "a's status page shows the group"
# Each answer is served by the instance owning the account's partition: the same whichever is asked.
for account in "${SAMPLE[@]:0:10}"; do
  read -r _ ia _ <<<"$(ask a "$account")"
  read -r _ ib _ <<<"$(ask b "$account")"
  [[ $ia == "$ib" && -n $ia ]] || { echo "FAIL: $account served by '$ia' through a and '$ib' through b"; exit 1; }
done
# Lists cover the whole group, merged in the list's order and paged, whichever instance is asked.
for query in "open-cases?at=2026-01-01T00:00:00Z" "anomalies?limit=7&offset=5" "agreements-lapsing?at=2025-06-01&within_days=365"; do
  name=${query%%\?*}
  args=()
  IFS='&' read -ra kv <<<"${query#*\?}"
  for pair in "${kv[@]}"; do args+=("--${pair%%=*}" "${pair#*=}"); done
  args=("${args[@]//within_days/within-days}")
  "$LEDGER" --data-dir "$WORK/clean" query list "$name" "${args[@]}" --format json >"$WORK/want.json"
  for instance in a b; do
    "${CURL[@]}" -D "$WORK/list.headers" -H "Authorization: Bearer $TOKEN" "${URL[$instance]}/v1/lists/$query" >"$WORK/got.json"
    # The answer names every instance that gave a part, and every partition's position.
    served=$(tr -d '\r' <"$WORK/list.headers" | sed -n 's/^X-Ledger-Instance: //Ip')
    at=$(tr -d '\r' <"$WORK/list.headers" | sed -n 's/^X-Ledger-Position: //Ip')
    [[ ,$served, == *",$GROUP-a,"* && ,$served, == *",$GROUP-b,"* ]] ||
      { echo "FAIL: list $query through $instance names '$served' as served by"; exit 1; }
    [[ $(tr ',' '\n' <<<"$at" | cut -d: -f1 | sort -u | wc -l) -eq 4 ]] ||
      { echo "FAIL: list $query through $instance reflects positions '$at', not the four partitions'"; exit 1; }
    python3 - "$WORK/want.json" "$WORK/got.json" "$instance" "$query" <<'PY' || exit 1
import json, sys
want, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in ("total", "offset", "limit", "counts", "items"):
    if want.get(k) != got.get(k):
        print(f"FAIL: list {sys.argv[4]} through {sys.argv[3]}: {k} is {json.dumps(got.get(k))[:300]}, the clean replay's {json.dumps(want.get(k))[:300]}")
        sys.exit(1)
PY
  done
  echo "list $query: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["total"], "items in all,", len(j["items"]), "on the page")' "$WORK/want.json"), the same through a and b"
done
echo "PASS: any instance answers any account's question, from the partition's owner, and every list for the whole group"
