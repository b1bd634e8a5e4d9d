#!/usr/bin/env bash
# The whole local stack: the Kafka broker, the ledger topics and the projector.
#
#   ops/stack.sh up       start the broker (fetching and formatting it the first time),
#                         create the topics, start the projector in the background,
#                         supervised (ops/supervise.sh restarts it if it fails)
#   ops/stack.sh down     stop the projector, then the broker; the data stays in var/
#   ops/stack.sh status   what runs, and how far the projection is
#
# Environment: as ops/kafka.sh (LEDGER_VAR_DIR, KAFKA_PORT, ...), plus
#   LEDGER_BUILD_DIR        where the ledger binary was built, default <checkout>/build
#   LEDGER_METRICS_LISTEN   the projector's /metrics address, default 127.0.0.1:9464
#   LEDGER_HTTP_LISTEN      the projector's HTTP API address, default 127.0.0.1:8080
#   LEDGER_STOP_GRACE       seconds `down` waits for the projector before SIGKILL, default 20
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${LEDGER_VAR_DIR:-$ROOT/var}
LEDGER=${LEDGER_BUILD_DIR:-$ROOT/build}/ledger
BROKERS=127.0.0.1:${KAFKA_PORT:-9092}
METRICS=${LEDGER_METRICS_LISTEN:-127.0.0.1:9464}
HTTP=${LEDGER_HTTP_LISTEN:-127.0.0.1:8080}
PIDFILE=$VAR/projector.pid
LOG=$VAR/log/projector.log

log() { printf 'stack: %s\n' "$*" >&2; }
running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

up() {
  [[ -x $LEDGER ]] || { log "no ledger binary at $LEDGER: run ops/build.sh first"; exit 1; }
  "$ROOT/ops/kafka.sh" up
  mkdir -p "$VAR/log"
  if running; then
    log "projector already running (pid $(cat "$PIDFILE"))"
    return 0
  fi
  # Supervised: after a crash or a full disk it starts again and resumes from the store.
  setsid nohup "$ROOT/ops/supervise.sh" "$LOG" "$LEDGER" --brokers "$BROKERS" \
    --data-dir "$VAR/ledger" project --metrics-listen "$METRICS" --http-listen "$HTTP" >/dev/null 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  sleep 0.5
  if ! running; then
    log "the projector exited at once; last lines of $LOG:"
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  log "projector running (pid $(cat "$PIDFILE")), store $VAR/ledger, log $LOG"
}

# The supervisor was started with setsid: it leads a process group of its own, which
# holds the projector. Whatever is left of that group after the grace period (a projector
# still committing, or one that ignores SIGTERM) is killed with it, so that nothing keeps
# the store's lock or the ports.
group_alive() { pgrep -g "$1" >/dev/null 2>&1; }
down() {
  if running || { [[ -f $PIDFILE ]] && group_alive "$(cat "$PIDFILE")"; }; then
    local pid grace=${LEDGER_STOP_GRACE:-20}
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid" 2>/dev/null || true  # the supervisor passes it on and waits
    for _ in $(seq 1 $((grace * 5))); do group_alive "$pid" || break; sleep 0.2; done
    if group_alive "$pid"; then
      log "projector still running after $grace s; SIGKILL to it and its supervisor"
      kill -KILL -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 25); do group_alive "$pid" || break; sleep 0.2; done
    fi
    log "projector stopped"
  fi
  rm -f "$PIDFILE"
  "$ROOT/ops/kafka.sh" stop
}

status() {
  if running; then echo "projector: running (pid $(cat "$PIDFILE"))"; else echo "projector: stopped"; fi
  "$ROOT/ops/kafka.sh" status || return 0
  "$LEDGER" --brokers "$BROKERS" --data-dir "$VAR/ledger" status || true
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
