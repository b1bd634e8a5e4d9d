#!/usr/bin/env bash
# A projector group over the local three-node cluster (ops/cluster.sh on free ports, six
# partitions, replication factor 3): EVENTS synthetic events projected by 1, 2 and 3
# instances of one group (each with its own store), then by one instance over a
# single-node broker for comparison (wall time until the stores hold every event, and
# the instances' CPU); then the answer latency through the instance owning an account
# and through another one (the forwarding cost), with wrk; then the time from a SIGKILL
# of the owner to the first right answer from its standby, by default and with max_lag.
# Usage: run_group_bench.sh [BUILD_DIR] [EVENTS=300000] [WRK_SECONDS=10]
# (SESSION_TIMEOUT_MS, default 6000: the instances' session.timeout.ms for the answers,
# owner-loss, rejoin and coordinator-loss parts)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-300000}
WRK_SECONDS=${3:-10}
ACCOUNTS=$((EVENTS / 50))
LEDGER=$BUILD/ledger
WORK=$(mktemp -d /tmp/ledger-group-bench-XXXXXX)
export LEDGER_VAR_DIR=$WORK/var LEDGER_PARTITIONS=6 LEDGER_TEST_KAFKA_DIR=$WORK/single
source "$ROOT/tests/support/free_port.sh"
LEDGER_CLUSTER_PORT=$(free_port_run 6) || { echo "FAIL: no six consecutive free ports"; exit 1; }
export LEDGER_CLUSTER_PORT
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$ROOT/ops/cluster.sh" stop >/dev/null 2>&1 || true
  "$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ticks=$(getconf CLK_TCK)
cpu_seconds() {  # pid: user+system seconds so far
  awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$1/stat"
}
projected() {  # data dir: events its store holds
  "$LEDGER" --brokers "$1" --data-dir "$2" status 2>/dev/null | awk '/^total:/ {print $2}' || echo 0
}
# Projects the topic at BROKERS with N instances of a new group until their stores hold
# every event; prints rate and CPU.
brokers_cpu() {  # pid files of the broker JVMs: their user+system seconds so far
  local f sum=0
  for f in "$@"; do sum=$(awk -v a="$sum" -v b="$(cpu_seconds "$(cat "$f")")" 'BEGIN { print a + b }'); done
  echo "$sum"
}
project_with() {  # label brokers n broker-pid-files...
  local label=$1 brokers=$2 n=$3 group="bench-$RANDOM$RANDOM" start i total cpu=0 broker_cpu
  shift 3
  local ids=()
  broker_cpu=$(brokers_cpu "$@")
  start=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    "$LEDGER" --brokers "$brokers" --data-dir "$WORK/$group-$i" project --group "$group" --instance-id "$group-$i" \
      --metrics-listen "" --http-listen "" >"$WORK/$group-$i.log" 2>&1 &
    ids+=($!)
  done
  while :; do
    total=0
    for i in $(seq 1 "$n"); do total=$((total + $(projected "$brokers" "$WORK/$group-$i"))); done
    ((total >= EVENTS)) && break
    sleep 0.2
  done
  local wall; wall=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')
  for pid in "${ids[@]}"; do cpu=$(awk -v a="$cpu" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + b }'); kill -TERM "$pid"; done
  broker_cpu=$(awk -v a="$(brokers_cpu "$@")" -v b="$broker_cpu" 'BEGIN { print a - b }')
  for pid in "${ids[@]}"; do wait "$pid" || true; done
  awk -v l="$label" -v e="$EVENTS" -v w="$wall" -v c="$cpu" -v k="$broker_cpu" 'BEGIN {
    printf "%-34s %8.0f events/s  (%.2f s wall, group join included; %.1f CPU-us per event in the instances, %.1f in the brokers)\n",
      l, e / w, w, c * 1000000 / e, k * 1000000 / e }'
}

echo "group bench: $EVENTS events for $ACCOUNTS accounts; $(nproc) cores"
"$ROOT/ops/cluster.sh" up 180 >"$WORK/cluster.log" 2>&1 || { cat "$WORK/cluster.log"; exit 1; }
CLUSTER=$("$ROOT/ops/cluster.sh" bootstrap)
"$BUILD/tests/ledger_synth" "$EVENTS" "$ACCOUNTS" 42 GB >"$WORK/events.jsonl"
echo "three-node cluster: $("$LEDGER" --brokers "$CLUSTER" publish "$WORK/events.jsonl")"
for n in 1 2 3; do project_with "project, cluster, $n instance(s)" "$CLUSTER" "$n" "$LEDGER_VAR_DIR"/cluster/node*/broker.pid; done

"$ROOT/tests/integration/kafka_fixture.sh" start >/dev/null 2>&1
SINGLE=$(cat "$LEDGER_TEST_KAFKA_DIR/bootstrap")
echo "single node: $("$LEDGER" --brokers "$SINGLE" publish "$WORK/events.jsonl")"
project_with "project, single node, 1 instance" "$SINGLE" 1 "$LEDGER_TEST_KAFKA_DIR/kafka/broker.pid"
"$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1

# Answers through the owner and through another instance (forwarded), on the cluster.
TOKEN=$("$LEDGER" --brokers "$CLUSTER" token create bench --role analyst --tokens "$WORK/tokens" 2>/dev/null)
mapfile -t PORTS < <(free_ports 2)
group="answers-$RANDOM"
declare -A URL PID LINES
echo "session.timeout.ms=${SESSION_TIMEOUT_MS:-6000}" >"$WORK/group.properties"
(umask 077 && openssl rand -hex 32 >"$WORK/group-secret")
i=0
for name in a b; do
  URL[$name]=http://127.0.0.1:${PORTS[$i]}
  "$LEDGER" --brokers "$CLUSTER" --data-dir "$WORK/$group-$name" --kafka-config "$WORK/group.properties" project \
    --group "$group" --group-secret "$WORK/group-secret" --instance-id "$group-$name" --standbys 1 --metrics-listen "" \
    --http-listen "127.0.0.1:${PORTS[$i]}" --tokens "$WORK/tokens" >"$WORK/$group-$name.log" 2>&1 &
  pids+=($!)
  PID[$name]=$!
  i=$((i + 1))
done
while :; do
  total=$(( $(projected "$CLUSTER" "$WORK/$group-a") + $(projected "$CLUSTER" "$WORK/$group-b") ))
  ((total >= EVENTS)) && break
  sleep 0.5
done
sleep 4  # announcements, and the compactor settles the stores
target=""
for k in $(seq 0 $((ACCOUNTS - 1))); do
  served=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" \
    "${URL[a]}/v1/entitlement?account=GB-$k&product=backup-exec&at=2026-01-01" | tr -d '\r' |
    sed -n 's/^X-Ledger-Instance: //Ip')
  if [[ $served == "$group-b" ]]; then target=GB-$k; break; fi
done
[[ -n $target ]] || { echo "no account owned by b"; exit 1; }
path="/v1/entitlement?account=$target&product=backup-exec&at=2026-01-01"
for via in b a; do
  what="through the owner"
  [[ $via == a ]] && what="through another instance (forwarded)"
  out=$(wrk -t1 -c4 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "${URL[$via]}$path")
  printf '%-40s %s req/s, latency p50 %s, p99 %s\n' "answers $what" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")"
done

# The loss of the owner: questions through a every 20 ms, alternately by default and with
# max_lag, until each has had the answer given before the kill.
expected=$(curl -s -H "Authorization: Bearer $TOKEN" "${URL[a]}$path")
kill -KILL "${PID[b]}"
killed=$(date +%s%N)
wait "${PID[b]}" 2>/dev/null || true  # reaped quietly
declare -A FIRST
while [[ -z ${FIRST[default]:-} || -z ${FIRST[max_lag]:-} ]] && (( $(date +%s%N) - killed < 30000000000 )); do
  for how in default max_lag; do
    [[ -n ${FIRST[$how]:-} ]] && continue
    q=""
    [[ $how == max_lag ]] && q="&max_lag=1000"
    got=$(curl -s -m 2 -H "Authorization: Bearer $TOKEN" "${URL[a]}$path$q" || true)
    [[ $got == "$expected" ]] && FIRST[$how]=$(( ($(date +%s%N) - killed) / 1000000 ))
  done
  sleep 0.02
done
printf 'SIGKILL of the owner to the first right answer from its standby: %s ms by default, %s ms with max_lag\n' \
  "${FIRST[default]:-none in 30 s}" "${FIRST[max_lag]:-none in 30 s}"

# The owner's rejoin: started again (same instance id); questions asked of it directly.
start_b() {
  "$LEDGER" --brokers "$CLUSTER" --data-dir "$WORK/$group-b" --kafka-config "$WORK/group.properties" project \
    --group "$group" --group-secret "$WORK/group-secret" --instance-id "$group-b" --standbys 1 --metrics-listen "" \
    --http-listen "127.0.0.1:${PORTS[1]}" --tokens "$WORK/tokens" >>"$WORK/$group-b.log" 2>&1 &
  pids+=($!)
  PID[b]=$!
}
start_b
started=$(date +%s%N)
ready="" answering="" refused=0
while [[ -z $ready || -z $answering ]] && (( $(date +%s%N) - started < 60000000000 )); do
  if [[ -z $ready ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 "${URL[b]}/readyz" || true) == 200 ]]; then
    ready=$(( ($(date +%s%N) - started) / 1000000 ))
  fi
  if [[ -z $answering ]]; then
    got=$(curl -s -m 2 -D "$WORK/h" -H "Authorization: Bearer $TOKEN" "${URL[b]}$path" || true)
    if [[ $got == "$expected" ]] && tr -d '\r' <"$WORK/h" | grep -qx "X-Ledger-Instance: $group-b"; then
      answering=$(( ($(date +%s%N) - started) / 1000000 ))
    elif [[ $got != "$expected" && -n $got ]]; then
      refused=$((refused + 1))
    fi
  fi
  sleep 0.02
done
printf 'rejoin of the owner (restart to ready / to answering its own accounts itself): %s ms / %s ms (%s questions told to ask again meanwhile)\n' \
  "${ready:-not in 60 s}" "${answering:-not in 60 s}" "$refused"

# The loss of the broker coordinating the group: every member's heartbeats fail until
# another broker takes the coordination over. Questions through a and b, every 20 ms,
# for 30 s after the kill; a 503 or a wrong answer is counted.
sleep 3
coordinator=""
for _ in $(seq 1 20); do
  coordinator=$("$ROOT/ops/cluster.sh" coordinator "$group" 2>/dev/null || true)
  [[ $coordinator =~ ^[123]$ ]] && break
  sleep 1
done
[[ $coordinator =~ ^[123]$ ]] || { echo "no coordinator found for $group"; exit 1; }
for name in a b; do LINES[$name]=$(wc -l <"$WORK/$group-$name.log"); done
"$ROOT/ops/cluster.sh" kill "$coordinator" >/dev/null 2>&1
killed=$(date +%s%N)
declare -A FAILED LAST_FAILED ASKED
for name in a b; do FAILED[$name]=0 LAST_FAILED[$name]=0 ASKED[$name]=0; done
while (( $(date +%s%N) - killed < 30000000000 )); do
  for name in a b; do
    got=$(curl -s -m 2 -H "Authorization: Bearer $TOKEN" "${URL[$name]}$path" || true)
    ASKED[$name]=$((ASKED[$name] + 1))
    if [[ $got != "$expected" ]]; then
      FAILED[$name]=$((FAILED[$name] + 1))
      LAST_FAILED[$name]=$(( ($(date +%s%N) - killed) / 1000000 ))
    fi
  done
  sleep 0.02
done
moved=0
for name in a b; do
  moved=$((moved + $(tail -n +"$((LINES[$name] + 1))" "$WORK/$group-$name.log" | grep -c "partitions revoked\|assigned ledger.events" || true)))
  printf 'coordinator (node %s) SIGKILLed, through %s: %s of %s questions not answered right, the last %s ms after the kill\n' \
    "$coordinator" "$name" "${FAILED[$name]}" "${ASKED[$name]}" "${LAST_FAILED[$name]}"
done
echo "partition moves logged by the instances after the coordinator's loss: $moved (session.timeout.ms=$(cut -d= -f2 "$WORK/group.properties"))"
"$ROOT/ops/cluster.sh" restart "$coordinator" >/dev/null 2>&1 || true

