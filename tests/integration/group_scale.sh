#!/usr/bin/env bash
# Integration, three-node cluster: a projector group of three instances (--standbys 1)
# grows to four, then loses two (one stopped, one SIGKILLed), while events are published
# and questions asked of every live instance all along. Partitions move; every answer
# given is the clean replay's (503 meanwhile is allowed, and counted); at the end each
# partition's state in the surviving stores equals a clean replay's (nothing lost, nothing
# applied twice).
# Usage: group_scale.sh LEDGER_BINARY SYNTH_BINARY   (cluster from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_CLUSTER_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-scale-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
source "$ROOT/tests/support/group.sh"
asker="" publisher=""
cleanup() {
  for p in "${PID[@]}" $asker $publisher; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM
GROUP=scale-$RUN
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create scale --role analyst --tokens "$WORK/tokens" 2>/dev/null)

# Accounts asked about all along (their events are all published first: their answers
# must not change), and accounts whose events are published while the group changes.
"$SYNTH" 20000 200 "$RUN" "SA$RUN" >"$WORK/asked.jsonl"
"$SYNTH" 40000 400 "$RUN" "SB$RUN" >"$WORK/moving.jsonl"
split -n l/20 -d "$WORK/moving.jsonl" "$WORK/moving."
"$LEDGER" --brokers "$BROKERS" publish "$WORK/asked.jsonl" --flush-timeout 120 >/dev/null
clean_replay
ASKED=()
choose_asked "$WORK/asked.jsonl" 30

mapfile -t PORTS < <(free_ports 4)
declare -A PORT
i=0
for name in a b c d; do PORT[$name]=${PORTS[$i]}; i=$((i + 1)); done
for name in a b c; do start_instance "$name" "${PORT[$name]}" 1; done
settled_right=""
for _ in $(seq 1 120); do group_settled a b c && all_right a b c && { settled_right=1; break; }; sleep 1; done
[[ -n $settled_right ]] || { echo "FAIL: the group of three did not answer like the clean replay"; group_diagnose; exit 1; }
echo "three instances answer like the clean replay"

# Questions all along, of every live instance in turn ($WORK/live: NAME URL per line).
printf '%s %s\n' a "${URL[a]}" b "${URL[b]}" c "${URL[c]}" >"$WORK/live"
start_asker
asker=$ASKER
# Events all along: a twentieth of the moving accounts' events every second.
(
  for f in "$WORK"/moving.[0-9]*; do
    "$LEDGER" --brokers "$BROKERS" publish "$f" --flush-timeout 120 >>"$WORK/publish.log" 2>&1
    sleep 1
  done
) &
publisher=$!

echo "a owns [$(owned_by a)], b [$(owned_by b)], c [$(owned_by c)]"
echo "a fourth instance, d, joins"
start_instance d "${PORT[d]}" 1
joined=""
for _ in $(seq 1 120); do group_settled a b c d && all_right d && { joined=1; break; }; sleep 1; done
[[ -n $joined ]] || { echo "FAIL: d was given no partition, or did not answer like the clean replay"; group_diagnose; exit 1; }
printf '%s %s\n' d "${URL[d]}" >>"$WORK/live"
echo "a owns [$(owned_by a)], b [$(owned_by b)], c [$(owned_by c)], d [$(owned_by d)]"
sleep 3

echo "a is stopped, b SIGKILLed"
sed -i '/^[ab] /d' "$WORK/live"
sleep 0.5
stop_instance a
kill -KILL "${PID[b]}"
wait "${PID[b]}" 2>/dev/null || true
unset "PID[b]"
for _ in $(seq 1 120); do
  c=$(owned_by c) d=$(owned_by d)
  [[ $(wc -w <<<"$c $d") -eq 6 ]] && break
  sleep 1
done
echo "c owns [$(owned_by c)], d [$(owned_by d)]"
[[ $(wc -w <<<"$(owned_by c) $(owned_by d)") -eq 6 ]] || { echo "FAIL: the two survivors do not own the six partitions"; exit 1; }

wait "$publisher" || { cat "$WORK/publish.log"; echo "FAIL: publishing failed"; exit 1; }
publisher=""
published=$(grep -o 'published [0-9]* of' "$WORK/publish.log" | awk '{s += $2} END {print s}')
echo "published $published events while the group changed"
[[ $published -eq 40000 ]] || { cat "$WORK/publish.log"; echo "FAIL: not every event was acknowledged"; exit 1; }
sleep 2
kill "$asker" 2>/dev/null; wait "$asker" 2>/dev/null || true
asker=""
right=$(grep -c '^right' "$WORK/answers" || true)
wrong=$(grep -c '^WRONG' "$WORK/answers" || true)
total=$(wc -l <"$WORK/answers")
echo "questions while the group changed: $total, $right right, $((total - right - wrong)) not answered (503 or refused), $wrong wrong"
{ grep -v '^right\|^WRONG' "$WORK/answers" || true; } | sort | uniq -c | sort -rn | head -5
grep '^WRONG' "$WORK/answers" | head -3 || true
((wrong == 0)) || { echo "FAIL: wrong answers while partitions moved"; exit 1; }
((right > total / 2)) || { echo "FAIL: fewer than half of the questions were answered"; exit 1; }

# Everything, the moving accounts' too, answered like a clean replay of the whole log.
clean_replay
choose_asked "$WORK/moving.jsonl" 30
survivors_right=""
for _ in $(seq 1 120); do all_right c d && { survivors_right=1; break; }; sleep 1; done
[[ -n $survivors_right ]] || { echo "FAIL: the survivors do not answer like the clean replay"; exit 1; }
echo "c and d answer like the clean replay"
stop_instance c
stop_instance d
expect_partitions_like_clean c d
echo "PASS: 3 -> 4 -> 2 instances while publishing and asking: nothing lost, nothing applied twice, no wrong answer"
