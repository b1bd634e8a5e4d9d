#!/usr/bin/env bash
# Integration, three-node cluster: a rolling restart of every instance of a projector
# group of three (--standbys 2, static membership), one after the other, under a steady
# load of questions asked of the live instances (a restarting one is taken out of the
# rotation, as a load balancer's health check would). No wrong answer; the share of 503
# answers is reported and bounded; afterwards every partition's state equals a clean
# replay's.
# Usage: group_rolling_restart.sh LEDGER_BINARY SYNTH_BINARY   (cluster from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_CLUSTER_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-rolling-XXXXXX)
MOST_503_PERCENT=${MOST_503_PERCENT:-20}
source "$ROOT/tests/support/free_port.sh"
source "$ROOT/tests/support/group.sh"
asker=""
cleanup() {
  for p in "${PID[@]}" $asker; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM
GROUP=rolling-$RUN
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create rolling --role analyst --tokens "$WORK/tokens" 2>/dev/null)
"$SYNTH" 30000 300 "$RUN" "RR$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >/dev/null
clean_replay
ASKED=()
choose_asked "$WORK/events.jsonl" 40

mapfile -t PORTS < <(free_ports 3)
declare -A PORT
i=0
for name in a b c; do PORT[$name]=${PORTS[$i]}; start_instance "$name" "${PORT[$name]}" 2; i=$((i + 1)); done
settled_right=""
for _ in $(seq 1 120); do group_settled a b c && all_right a b c && { settled_right=1; break; }; sleep 1; done
[[ -n $settled_right ]] || { echo "FAIL: the group did not answer like the clean replay"; group_diagnose; exit 1; }
sleep 3  # the standbys catch up with what they follow
echo "three instances answer like the clean replay"

printf '%s %s\n' a "${URL[a]}" b "${URL[b]}" c "${URL[c]}" >"$WORK/live"
start_asker
asker=$ASKER
sleep 3
for name in a b c; do
  start=$(date +%s%N)
  sed -i "/^$name /d" "$WORK/live"
  sleep 0.3
  stop_instance "$name"
  start_instance "$name" "${PORT[$name]}" 2
  back=""
  for _ in $(seq 1 120); do all_right "$name" && { back=1; break; }; sleep 0.5; done
  [[ -n $back ]] || { echo "FAIL: $name did not answer right after its restart"; group_diagnose; exit 1; }
  printf '%s %s\n' "$name" "${URL[$name]}" >>"$WORK/live"
  echo "$name restarted, answering right again after $(( ($(date +%s%N) - start) / 1000000 )) ms"
  sleep 3
done
kill "$asker" 2>/dev/null; wait "$asker" 2>/dev/null || true
asker=""
total=$(wc -l <"$WORK/answers")
right=$(grep -c '^right' "$WORK/answers" || true)
wrong=$(grep -c '^WRONG' "$WORK/answers" || true)
unavailable=$(grep -c '^503' "$WORK/answers" || true)
other=$((total - right - wrong - unavailable))
share=$(awk -v u="$unavailable" -v t="$total" 'BEGIN {printf "%.1f", t ? 100 * u / t : 0}')
echo "questions during the rolling restart: $total, $right right, $unavailable answered 503 ($share%), $other otherwise unanswered, $wrong wrong"
{ grep -v '^right' "$WORK/answers" || true; } | sort | uniq -c | sort -rn | head -5
((wrong == 0)) || { echo "FAIL: wrong answers during the rolling restart"; exit 1; }
((other == 0)) || { echo "FAIL: questions to live instances went unanswered (neither 200 nor 503)"; exit 1; }
awk -v s="$share" -v m="$MOST_503_PERCENT" 'BEGIN {exit !(s <= m)}' ||
  { echo "FAIL: $share% of the questions answered 503 (at most $MOST_503_PERCENT%)"; exit 1; }
for name in a b c; do stop_instance "$name"; done
expect_partitions_like_clean a b c
echo "PASS: a rolling restart of three instances under load: no wrong answer, $share% answered 503"
