#!/usr/bin/env bash
# Runs a command and starts it again whenever it exits with an error (a full disk, a
# crash), after a pause, until it exits cleanly or this script gets SIGTERM or SIGINT,
# which it passes on. Exit status 75 (`ledger project` after a rebuild switched its
# store) starts it again at once. ops/stack.sh runs the projector under it.
# Usage: ops/supervise.sh LOG COMMAND [ARGS...]
set -uo pipefail
LOG=$1
shift
child=""
stop() {
  [[ -n $child ]] && kill -TERM "$child" 2>/dev/null && wait "$child"
  exit 0
}
trap stop TERM INT
while :; do
  "$@" >>"$LOG" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=""
  ((rc == 0)) && exit 0
  ((rc == 75)) && continue
  echo "supervise: $1 exited with status $rc; starting it again in 5 s" >>"$LOG"
  sleep 5 &
  wait $!
done
