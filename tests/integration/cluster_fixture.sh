#!/usr/bin/env bash
# CTest fixture: a real three-node Kafka cluster (ops/cluster.sh: KRaft, replication
# factor 3, min.insync.replicas 2) on free loopback ports, for the projector group's
# tests, with its data in $LEDGER_TEST_CLUSTER_DIR (removed on stop).
#   cluster_fixture.sh start   start it; write its bootstrap list to $DIR/bootstrap
#   cluster_fixture.sh stop    stop it and remove its data
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${LEDGER_TEST_CLUSTER_DIR:?set LEDGER_TEST_CLUSTER_DIR}

# shellcheck source=../support/free_port.sh
source "$ROOT/tests/support/free_port.sh"

cluster() {
  LEDGER_VAR_DIR=$DIR LEDGER_CLUSTER_PORT=$(cat "$DIR/port") LEDGER_PARTITIONS=6 KAFKA_HEAP=384m \
    "$ROOT/ops/cluster.sh" "$@"
}

case ${1:-} in
  start)
    if [[ -f $DIR/port ]]; then  # a previous run did not clean up
      for n in 1 2 3; do cluster kill "$n" || true; done
      rm -rf "$DIR"
    fi
    mkdir -p "$DIR"
    free_port_run 6 >"$DIR/port"
    cluster up 180
    cluster bootstrap >"$DIR/bootstrap"
    ;;
  stop)  # its data goes: no need for a controlled shutdown (the last node would wait out its timeout)
    if [[ -f $DIR/port ]]; then
      for n in 1 2 3; do cluster kill "$n" || true; done
    fi
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
