#!/usr/bin/env bash
# The real `ledger project --until-caught-up` against the consume-only ceiling, in one run,
# on a broker of its own (fresh, free ports, 6 partitions):
#   1. EVENTS synthetic events (20,000 accounts, seed 42, as ledger_bench makes them),
#      published with `ledger publish`; with OUT_OF_ORDER > 0, that share of the events
#      changes places with its account's event before it (arrives before one that
#      occurred earlier);
#   2. ROUNDS times, back to back: a consume-only pass over ledger.events (ledger_bench
#      --consume-only: a plain consumer with the projector's fetch settings, nothing done
#      per message), then `ledger project --until-caught-up` into a fresh store, as users
#      run it (HTTP API, metrics and the compactor on, on free ports).
# Prints per round: consume-only events/s; project events/s from its first assignment to
# its exit and over the whole process, CPU-s and CPU-us per event (whole process), peak
# resident memory; and project / consume-only.
# With BASELINE_LEDGER=/path/to/an/older/ledger, each round also runs that binary's
# `ledger project` the same way, right before this build's (before/after, back to back).
# Usage: run_project_bench.sh [BUILD_DIR] [EVENTS=1000000] [ROUNDS=2] [OUT_OF_ORDER=0]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-1000000}
ROUNDS=${3:-2}
OUT_OF_ORDER=${4:-0}
LEDGER=$BUILD/ledger
WORK=$(mktemp -d /tmp/ledger-project-bench-XXXXXX)
export LEDGER_TEST_KAFKA_DIR=$WORK/kafka
cleanup() {
  "$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
source "$ROOT/tests/support/free_port.sh"
LEDGER_PARTITIONS=6 "$ROOT/tests/integration/kafka_fixture.sh" start >/dev/null 2>&1
B=$(cat "$LEDGER_TEST_KAFKA_DIR/bootstrap")
echo "broker $B (6 partitions); $(nproc) cores; $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo +changes)"

"$BUILD/tests/ledger_synth" "$EVENTS" 20000 42 BENCH >"$WORK/events.jsonl"
if [[ $OUT_OF_ORDER != 0 ]]; then
  python3 - "$WORK/events.jsonl" "$OUT_OF_ORDER" <<'EOF'
import json, random, sys
path, share = sys.argv[1], float(sys.argv[2])
lines = open(path).read().splitlines()
rng = random.Random(42)
last = {}  # account -> index of its latest line so far
moved = 0
for i, line in enumerate(lines):
    account = json.loads(line).get("account_id")
    j = last.get(account)
    if j is not None and rng.random() < share:
        lines[i], lines[j] = lines[j], lines[i]
        moved += 1
        last[account] = i  # the earlier event is now at i
    else:
        last[account] = i
open(path, "w").write("\n".join(lines) + "\n")
print(f"out of order: {moved} of {len(lines)} events ({100.0 * moved / len(lines):.1f}%) arrive before an event of their account that occurred earlier")
EOF
fi
t0=$EPOCHREALTIME
"$LEDGER" --brokers "$B" publish "$WORK/events.jsonl" --flush-timeout 600 | tail -n 1
echo "published in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"

# epoch seconds of a log line's "[YYYY-MM-DD HH:MM:SS.mmm]"
log_time() { date -u -d "$(sed -n 's/^\[\([0-9-]* [0-9:.]*\)\].*/\1/p' <<<"$1")" +%s.%N; }

printf '%-6s %-9s %-13s %-22s %-14s %-7s %-12s %-9s %s\n' round ledger consume-only "project (1st assign)" "project (all)" CPU-s CPU-us/event "peak RSS" "project/consume"
# project LABEL BINARY ROUND CONSUME_RATE: one `ledger project --until-caught-up` from a fresh store.
project() {
  local label=$1 binary=$2 r=$3 c_rate=$4 t0 t1 wall user sys rss_kb first consumed
  mapfile -t P < <(free_ports 2)
  rm -rf "$WORK"/store "$WORK"/store.*  # the store, its generations and tokens
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$binary" --brokers "$B" --data-dir "$WORK/store" project \
    --group "bench-project-$label-$r-$RANDOM" --until-caught-up --http-listen "127.0.0.1:${P[0]}" \
    --metrics-listen "127.0.0.1:${P[1]}" --tokens "$WORK/tokens" >"$WORK/project.log" 2>&1 ||
    { cat "$WORK/project.log"; exit 1; }
  t1=$EPOCHREALTIME
  read -r wall user sys rss_kb <"$WORK/time"
  first=$(log_time "$(grep -m1 'assigned' "$WORK/project.log")")
  consumed=$(sed -n 's/.*consumed \([0-9]*\) .*/\1/p' "$WORK/project.log" | tail -n 1)
  python3 -c '
import sys
r, label, c_rate, n, first, t0, t1, user, sys_, rss = sys.argv[1:]
n = int(n); c_rate = float(c_rate); cpu = float(user) + float(sys_)
from_assign = n / (float(t1) - float(first)); whole = n / (float(t1) - float(t0))
print(f"{r:<6} {label:<9} {c_rate:>10,.0f}/s  {from_assign:>12,.0f}/s ({float(t1)-float(first):.1f} s) {whole:>10,.0f}/s  "
      f"{cpu:>6.1f}  {1e6 * cpu / n:>10.1f}    {int(rss) / 1024:>6.0f} MiB  {from_assign / c_rate:.3f}")
' "$r" "$label" "$c_rate" "$consumed" "$first" "$t0" "$t1" "$user" "$sys" "$rss_kb"
}
for r in $(seq 1 "$ROUNDS"); do
  consume=$("$BUILD/tests/ledger_bench" --consume-only --brokers "$B")
  c_rate=$(sed -n 's/^consume-only \([0-9]*\) events.*/\1/p' <<<"$consume")
  if [[ -n ${BASELINE_LEDGER:-} ]]; then project baseline "$BASELINE_LEDGER" "$r" "$c_rate"; fi
  project this "$LEDGER" "$r" "$c_rate"
done
echo "(project: events consumed by the command, over the time from its first assignment to its exit, and over the whole process; CPU: user + system of the whole process)"
