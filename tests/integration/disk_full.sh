#!/usr/bin/env bash
# Integration: the projector's disk fills up. It stops without committing anything
# partial (Debian's RocksDB aborts on the failed write-ahead-log append: its assertions
# are compiled in), and once there is room again a restarted projector resumes from the
# stored offsets and ends in the same state as a clean run: nothing lost, nothing twice.
# The disk is a small tmpfs (needs root; skipped, exit 77, where mounting is not allowed).
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
if ! mount -t tmpfs -o size=12m tmpfs "$DISK" 2>/dev/null; then
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

project() {
  exec "$LEDGER" --brokers "$BROKERS" --data-dir "$DISK/store" project --group "disk-$RUN" \
    --metrics-listen "" "$@"
}
project >"$WORK/projector.log" 2>&1 &
projector=$!
for _ in $(seq 1 120); do
  kill -0 "$projector" 2>/dev/null || break
  [[ $(df --output=avail "$DISK" | tail -1) -lt 64 ]] && break
  sleep 0.5
done
sleep 2
if kill -0 "$projector" 2>/dev/null; then
  tail -5 "$WORK/projector.log"
  echo "FAIL: the disk never filled, or the projector carries on with a full disk"
  exit 1
fi
projector=""
echo "disk full, projector stopped: $(grep -m1 -iE 'assert|error|stopped|No space' "$WORK/projector.log" | cut -c1-160)"
projected=$(df --output=used "$DISK" | tail -1)
echo "store on the full disk: ${projected} KiB"

mount -o remount,size=1g "$DISK"
echo "disk grown; restarting the projector"
(project --until-caught-up >>"$WORK/projector.log" 2>&1) ||
  { tail -20 "$WORK/projector.log"; echo "FAIL: the restarted projector failed"; exit 1; }
grep "consumed" "$WORK/projector.log" | tail -n 1

expect_clean_run_digest "$DISK/store" "$WORK" "through a full disk"
echo "PASS: a full disk stopped the projector without loss; restarted with room, it caught up"
