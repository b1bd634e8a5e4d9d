#!/usr/bin/env bash
# Integration: the projector's disk fills up. It must stop consuming without writing
# anything, say so in its log and metrics, stay up, and carry on once there is room,
# ending in the same state as a clean run. The disk is a small tmpfs (needs root; the
# test is skipped, exit 77, where mounting is not allowed).
# Usage: disk_full.sh LEDGER_BINARY SYNTH_BINARY   (broker from the CTest fixture)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
BROKERS=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-disk-full-XXXXXX)
source "$ROOT/tests/support/clean_run.sh"
DISK=$WORK/disk
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=40m tmpfs "$DISK" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (not root?)"
  rm -rf "$WORK"
  exit 77
fi
projector=""
cleanup() {
  [[ -n $projector ]] && kill -KILL "$projector" 2>/dev/null || true
  sleep 0.5
  umount "$DISK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$RANDOM$RANDOM

"$SYNTH" 100000 2000 "$RUN" "DF$RUN" >"$WORK/events.jsonl"
"$LEDGER" --brokers "$BROKERS" publish "$WORK/events.jsonl" --flush-timeout 120 >/dev/null

source "$ROOT/tests/support/free_port.sh"
METRICS=127.0.0.1:$(free_ports 1)
project() {  # [flags]; exec: in the background, $! is the projector
  exec "$LEDGER" --brokers "$BROKERS" --data-dir "$DISK/store" project --group "disk-$RUN" "$@"
}

project --min-free-disk 28 --metrics-listen "$METRICS" >"$WORK/projector.log" 2>&1 &
projector=$!
for _ in $(seq 1 120); do
  grep -q "consumption paused" "$WORK/projector.log" && break
  kill -0 "$projector" 2>/dev/null || { tail -20 "$WORK/projector.log"; echo "FAIL: the projector exited"; exit 1; }
  sleep 0.5
done
grep -q "consumption paused" "$WORK/projector.log" || { echo "FAIL: the projector never paused"; exit 1; }
echo "  $(grep -m1 'consumption paused' "$WORK/projector.log" | cut -c27-200)"
sleep 3
kill -0 "$projector" 2>/dev/null || { echo "FAIL: the projector died on a full disk"; exit 1; }
errors=$(curl -sf "http://$METRICS/metrics" | awk '/^ledger_projector_errors_total\{kind="disk_full"\}/ {print $2}')
echo "  ledger_projector_errors_total{kind=\"disk_full\"} = ${errors:-none}"
[[ -n $errors ]] || { echo "FAIL: the full disk is not in /metrics"; exit 1; }
mount -o remount,size=1g "$DISK"
"$LEDGER" --brokers "$BROKERS" --data-dir "$DISK/store" status --wait 180 >/dev/null ||
  { tail -20 "$WORK/projector.log"; echo "FAIL: the projector did not resume"; exit 1; }
grep -q "consumption resumed" "$WORK/projector.log" || { echo "FAIL: no resumption logged"; exit 1; }
kill -TERM "$projector"
wait "$projector" || true
projector=""
expect_clean_run_digest "$DISK/store" "$WORK" "through a nearly full disk"

echo "PASS: a nearly full disk paused the projector without loss; it resumed when there was room"
