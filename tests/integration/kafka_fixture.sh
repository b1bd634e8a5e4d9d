#!/usr/bin/env bash
# A real single-node Kafka broker for one test (tests/support/with_broker.sh) or a
# benchmark, on free loopback ports, with its data in $LEDGER_TEST_KAFKA_DIR (removed on
# stop).
#   kafka_fixture.sh start   start it; write its bootstrap address to $DIR/bootstrap
#   kafka_fixture.sh stop    stop it and remove its data
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${LEDGER_TEST_KAFKA_DIR:?set LEDGER_TEST_KAFKA_DIR}

# shellcheck source=../support/free_port.sh
source "$ROOT/tests/support/free_port.sh"

case ${1:-} in
  start)
    if [[ -f $DIR/ports ]]; then  # a previous run did not clean up
      # shellcheck disable=SC1091
      source "$DIR/ports"
      LEDGER_VAR_DIR=$DIR KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
        "$ROOT/ops/kafka.sh" stop || true
      rm -rf "$DIR"
    fi
    mkdir -p "$DIR"
    mapfile -t PORTS < <(free_ports 2)
    KAFKA_PORT=${PORTS[0]}
    KAFKA_CONTROLLER_PORT=${PORTS[1]}
    printf 'KAFKA_PORT=%s\nKAFKA_CONTROLLER_PORT=%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" >"$DIR/ports"
    LEDGER_VAR_DIR=$DIR KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
      LEDGER_PARTITIONS=${LEDGER_PARTITIONS:-4} "$ROOT/ops/kafka.sh" up 120
    echo "127.0.0.1:$KAFKA_PORT" >"$DIR/bootstrap"
    ;;
  stop)
    if [[ -f $DIR/ports ]]; then
      # shellcheck disable=SC1091
      source "$DIR/ports"
      LEDGER_VAR_DIR=$DIR KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
        "$ROOT/ops/kafka.sh" stop
    fi
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
