#!/usr/bin/env bash
# ops/stack.sh down stops the projector even when it does not stop by itself in time:
# after the grace period it kills the supervisor's whole process group, so that no
# projector is left holding the store's lock and the ports. The "projector" here is a
# command that ignores SIGTERM, run under the real ops/supervise.sh as `up` runs it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/ledger-stack-down-XXXXXX)
MARK="ledger-stack-down-$$-$RANDOM"
trap 'pkill -KILL -f "$MARK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$WORK/log"
setsid nohup "$ROOT/ops/supervise.sh" "$WORK/log/projector.log" \
  bash -c "trap '' TERM; exec -a $MARK sleep 300" >/dev/null 2>&1 </dev/null &
echo $! >"$WORK/projector.pid"
disown
for _ in $(seq 50); do pgrep -f "$MARK" >/dev/null && break; sleep 0.1; done
pgrep -f "$MARK" >/dev/null || fail "the stand-in projector did not start"
start=$(date +%s)
LEDGER_VAR_DIR=$WORK LEDGER_STOP_GRACE=2 KAFKA_PORT=1 "$ROOT/ops/stack.sh" down 2>&1 | sed 's/^/  /'
pgrep -f "$MARK" >/dev/null && fail "a projector that ignores SIGTERM is still running after ops/stack.sh down"
[[ ! -f $WORK/projector.pid ]] || fail "the pid file is left"
echo "stopped in $(($(date +%s) - start)) s: nothing of the supervised group is left"
