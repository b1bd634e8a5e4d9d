#!/usr/bin/env bash
# Integration, three-node cluster: three projectors in one group, each with its own store
# and HTTP API, each partition followed by STANDBYS others (--standbys). SIGKILL the
# instance owning an account while its question is asked through another instance, ten
# times a second, by default and with max_lag (a standby allowed at once): never a wrong
# answer (503 meanwhile is allowed), the clean replay's answer again from a standby within
# 5 s; then the group hands the partition to a survivor, which resumes it from its own
# store if it followed it (warm, not from the first offset; with --standbys 2 every
# survivor did), and every answer stays right.
# Usage: standby_failover.sh LEDGER_BINARY SYNTH_BINARY [STANDBYS=1]   (cluster from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
STANDBYS=${3:-1}
BROKERS=$(cat "${LEDGER_TEST_CLUSTER_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-standby-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
source "$ROOT/tests/support/group.sh"
cleanup() {
  for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM
GROUP=standby-$RUN
"$SYNTH" 20000 200 "$RUN" "SB$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >/dev/null
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create standby --role analyst --tokens "$WORK/tokens" 2>/dev/null)
mapfile -t PORTS < <(free_ports 3)
i=0
for name in a b c; do
  start_instance "$name" "${PORTS[$i]}" "$STANDBYS"
  i=$((i + 1))
done
clean_replay
mapfile -t ACCOUNTS < <(grep -o '"account_id":"[^"]*"' "$WORK/events.jsonl" | sort -u | cut -d'"' -f4)
# Everything projected and answered right through a; each owner's partitions followed by a standby.
for _ in $(seq 1 120); do
  ok=1
  for account in "${ACCOUNTS[@]:0:20}"; do
    got=$(ask a "$account")
    [[ ${got%% *} == 200 && ${got#* * } == "$(want "$account")" ]] || { ok=0; break; }
  done
  following=$(cat "$WORK"/{a,b,c}.log | grep -c "standby: following" || true)
  ((ok && following >= 4)) && break
  sleep 1
done
((ok)) || { echo "FAIL: the group did not answer like the clean replay (about $account: $got)"; group_diagnose; exit 1; }
echo "standbys: $(grep -h -o 'standby: following ledger.events \[[0-9]*\]' "$WORK"/{a,b,c}.log | wc -l) partitions followed"
sleep 3  # the standbys catch up with what they follow
# An account owned by c.
target=""
for account in "${ACCOUNTS[@]}"; do
  read -r status served _ <<<"$(ask a "$account")"
  if [[ $status == 200 && $served == "$GROUP-c" ]]; then target=$account; break; fi
done
[[ -n $target ]] || { echo "FAIL: no account owned by c"; exit 1; }
expected=$(want "$target")
echo "SIGKILL to c, the owner of $target, while a is asked about it ten times a second"
declare -A BEFORE
for name in a b; do BEFORE[$name]=$(wc -l <"$WORK/$name.log"); done
kill -KILL "${PID[c]}"
killed=$(date +%s%N)
declare -A FIRST_RIGHT WRONG UNAVAILABLE ASKED
for how in default max_lag; do FIRST_RIGHT[$how]="" WRONG[$how]=0 UNAVAILABLE[$how]=0 ASKED[$how]=0; done
while (( $(date +%s%N) - killed < 20000000000 )); do
  for how in default max_lag; do
    if [[ $how == default ]]; then got=$(ask a "$target"); else got=$(ask a "$target" max_lag=1000); fi
    ASKED[$how]=$((ASKED[$how] + 1))
    if [[ ${got%% *} == 200 ]]; then
      if [[ ${got#* * } == "$expected" ]]; then
        if [[ -z ${FIRST_RIGHT[$how]} ]]; then
          FIRST_RIGHT[$how]=$(( ($(date +%s%N) - killed) / 1000000 ))
          echo "$how: right again after ${FIRST_RIGHT[$how]} ms, served by $(awk '{print $2}' <<<"$got")"
        fi
      else
        WRONG[$how]=$((WRONG[$how] + 1)); echo "WRONG ($how): $got"
      fi
    else
      UNAVAILABLE[$how]=$((UNAVAILABLE[$how] + 1))
    fi
  done
  sleep 0.1
done
for how in default max_lag; do
  echo "$how: ${ASKED[$how]} questions over 20 s after the kill: ${UNAVAILABLE[$how]} answered 503, ${WRONG[$how]} wrong"
  ((WRONG[$how] == 0)) || { echo "FAIL: wrong answers while the owner was gone"; exit 1; }
  [[ -n ${FIRST_RIGHT[$how]} ]] || { echo "FAIL: never answered again ($how)"; exit 1; }
done
# How long answers stopped is a figure (tests/bench/run_group_bench.sh measures it), not
# a condition here: a loaded machine stretches it.
first_right=${FIRST_RIGHT[default]}
# By now the group has handed c's partitions to the survivors. One that followed a
# partition as its standby resumes it from its own store's offset (warm). The group's
# assignor does not know the standbys: with fewer standbys than other instances a
# partition may go to one that did not follow it (cold); with --standbys 2 every survivor
# followed it.
warm=0 cold=0
for name in a b; do
  while read -r p from; do
    if grep -q "standby: following ledger.events \[$p\]" <(head -n "${BEFORE[$name]}" "$WORK/$name.log"); then
      [[ $from == beginning ]] && { echo "FAIL: $name followed partition $p as a standby but took it over from the start"; exit 1; }
      warm=$((warm + 1)); echo "$name took partition $p over warm, from offset $from"
    else
      cold=$((cold + 1)); echo "$name took partition $p over cold, from offset $from (it was not its standby)"
    fi
  done < <(tail -n +"$((BEFORE[$name] + 1))" "$WORK/$name.log" |
           sed -n 's/.*assigned ledger.events \[\([0-9]*\)\] from offset \([a-z0-9]*\).*/\1 \2/p')
done
echo "c's partitions taken over: $warm warm, $cold cold"
((warm + cold > 0)) || { echo "FAIL: c's partitions were not taken over"; exit 1; }
((STANDBYS < 2 || cold == 0)) || { echo "FAIL: with every survivor a standby, a partition was taken over cold"; exit 1; }
for account in "${ACCOUNTS[@]:0:40}"; do
  for name in a b; do
    got=$(ask "$name" "$account")
    [[ ${got%% *} == 200 && ${got#* * } == "$(want "$account")" ]] ||
      { echo "FAIL: after the hand-over, $name answered $account with $got"; exit 1; }
  done
done
echo "PASS: no wrong answer after an owner's loss (answers for its accounts came back after $first_right ms; ${FIRST_RIGHT[max_lag]} ms with max_lag)"
