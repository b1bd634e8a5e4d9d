#!/usr/bin/env bash
# Runs a local three-node Apache Kafka cluster (KRaft, each node broker and controller,
# loopback only) for trying the ledger past one machine, and for the cluster tests.
# Every topic is replicated on the three nodes, min.insync.replicas=2: an acknowledged
# (acks=all) event is on two nodes at least, and one node may be lost at any time.
#
#   ops/cluster.sh up            start the three nodes, wait for them, create the topics
#   ops/cluster.sh start|wait|topics|stop   as ops/kafka.sh, for every node
#   ops/cluster.sh status        each node's state, then each partition's leader and ISR
#   ops/cluster.sh kill N        SIGKILL node N (1..3): a crash
#   ops/cluster.sh restart N     start node N again and wait for it
#   ops/cluster.sh leader T P    the node leading partition P of topic T
#   ops/cluster.sh coordinator G the node coordinating consumer group G
#   ops/cluster.sh bootstrap     the bootstrap list (--brokers) of the cluster
#
# Environment (all optional): LEDGER_VAR_DIR (state, default <checkout>/var; the cluster
# lives in $LEDGER_VAR_DIR/cluster), LEDGER_CLUSTER_PORT (node N listens on PORT+2(N-1)
# for clients and the next port for its controller; default 19092), LEDGER_PARTITIONS,
# KAFKA_HEAP (per node, default 512m), LEDGER_KAFKA_SECURE (1: every node secure, as
# ops/kafka.sh says; run ops/security.sh init first).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AUTH=()  # the Java tools' client settings on a secure cluster (LEDGER_KAFKA_SECURE=1)
if [[ ${LEDGER_KAFKA_SECURE:-0} == 1 ]]; then
  AUTH=(--command-config "${LEDGER_VAR_DIR:-$ROOT/var}/security/admin-java.properties")
fi
VAR=${LEDGER_VAR_DIR:-$ROOT/var}
BASE=${LEDGER_CLUSTER_PORT:-19092}
CDIR=$VAR/cluster
NODES=(1 2 3)

log() { printf 'cluster: %s\n' "$*" >&2; }
port() { echo $((BASE + 2 * ($1 - 1))); }
bootstrap() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("127.0.0.1:$(port "$n")"); done
  (IFS=,; echo "${out[*]}")
}
voters() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("$n@127.0.0.1:$(($(port "$n") + 1))"); done
  (IFS=,; echo "${out[*]}")
}
valid_node() {
  [[ ${1:-} =~ ^[123]$ ]] || { log "a node is 1, 2 or 3, not '${1:-}'"; exit 2; }
}

cluster_id() {
  mkdir -p "$CDIR"
  if [[ ! -s $CDIR/cluster.id ]]; then
    "$ROOT/ops/kafka.sh" fetch
    java -Xmx128m -cp "${KAFKA_HOME:-$ROOT/var/kafka-dist}/libs/*" kafka.tools.StorageTool random-uuid \
      2>/dev/null >"$CDIR/cluster.id"
  fi
  cat "$CDIR/cluster.id"
}

node() {  # N command...: ops/kafka.sh as node N of the cluster
  local n=$1; shift
  LEDGER_VAR_DIR=$VAR KAFKA_NODE_ID=$n KAFKA_NODE_DIR=$CDIR/node$n \
    KAFKA_PORT=$(port "$n") KAFKA_CONTROLLER_PORT=$(($(port "$n") + 1)) \
    KAFKA_VOTERS=$(voters) KAFKA_CLUSTER_ID=$(cluster_id) KAFKA_BOOTSTRAP=$(bootstrap) \
    KAFKA_REPLICATION=3 KAFKA_MIN_ISR=2 "$ROOT/ops/kafka.sh" "$@"
}

every() { local n; for n in "${NODES[@]}"; do node "$n" "$@"; done; }

status() {
  local n up=0
  for n in "${NODES[@]}"; do
    if node "$n" status >/dev/null 2>&1; then
      echo "node $n: running on 127.0.0.1:$(port "$n")"; up=$((up + 1))
    else
      echo "node $n: stopped"
    fi
  done
  if ((up == 0)); then return 3; fi
  java -Xmx256m -cp "${KAFKA_HOME:-$ROOT/var/kafka-dist}/libs/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$(bootstrap)" "${AUTH[@]}" --describe --topic 'ledger\..*' 2>/dev/null |
    awk '/Partition:/ { for (i = 1; i <= NF; i++) { if ($i == "Topic:") t = $(i+1); if ($i == "Partition:") p = $(i+1);
           if ($i == "Leader:") l = $(i+1); if ($i == "Isr:") r = $(i+1) }
           printf "  %s [%s]: leader node %s, in sync %s\n", t, p, l, r }'
}

leader() {  # topic partition
  java -Xmx256m -cp "${KAFKA_HOME:-$ROOT/var/kafka-dist}/libs/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$(bootstrap)" "${AUTH[@]}" --describe --topic "$1" 2>/dev/null |
    awk -v p="$2" '/Partition:/ { for (i = 1; i <= NF; i++) { if ($i == "Partition:") q = $(i+1); if ($i == "Leader:") l = $(i+1) }
                    if (q == p) { print l; found = 1 } } END { exit found ? 0 : 1 }'
}

coordinator() {  # group: the node coordinating the consumer group
  java -Xmx256m -cp "${KAFKA_HOME:-$ROOT/var/kafka-dist}/libs/*" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$(bootstrap)" "${AUTH[@]}" --describe --group "$1" --state 2>/dev/null |
    awk -v g="$1" '$1 == g { for (i = 2; i <= NF; i++) if ($i ~ /^\([0-9]+\)$/) { gsub(/[()]/, "", $i); print $i; found = 1; exit } }
                   END { exit found ? 0 : 1 }'
}

case ${1:-} in
  start) every start ;;
  wait) every wait "${2:-120}" ;;
  topics) node 1 topics ;;
  stop) every stop ;;
  up) every start; every wait "${2:-120}"; node 1 topics; log "up: --brokers $(bootstrap)" ;;
  status) status ;;
  kill) valid_node "${2:-}"; node "$2" kill ;;
  restart) valid_node "${2:-}"; node "$2" start; node "$2" wait "${3:-120}" ;;
  leader) [[ $# -eq 3 ]] || { log "usage: ops/cluster.sh leader TOPIC PARTITION"; exit 2; }; leader "$2" "$3" ;;
  coordinator) [[ $# -eq 2 ]] || { log "usage: ops/cluster.sh coordinator GROUP"; exit 2; }; coordinator "$2" ;;
  bootstrap) bootstrap ;;
  *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
