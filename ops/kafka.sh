#!/usr/bin/env bash
# Runs the local single-node Apache Kafka broker (KRaft, loopback only) for the ledger.
#
#   ops/kafka.sh fetch          copy the broker jars from Maven Central into $KAFKA_HOME/libs
#   ops/kafka.sh format         write server.properties and format the log directory (once)
#   ops/kafka.sh start          start the broker in the background (fetch and format first)
#   ops/kafka.sh wait [SECS]    wait until the broker answers (default 90 s)
#   ops/kafka.sh topics         create the ledger topics if missing (settings of DESIGN.md)
#   ops/kafka.sh status         say whether the broker runs and list the topics
#   ops/kafka.sh stop           stop the broker (SIGTERM, then SIGKILL after 30 s)
#   ops/kafka.sh kill           SIGKILL the broker (a crash, for fault tests)
#   ops/kafka.sh up             start + wait + topics
#
# Environment (all optional):
#   LEDGER_VAR_DIR          state directory, default <checkout>/var
#   KAFKA_PORT              client port, default 9092
#   KAFKA_CONTROLLER_PORT   KRaft controller port, default 9093
#   LEDGER_PARTITIONS       partitions of ledger.events, default 6
#   KAFKA_HEAP              JVM heap, default 512m
# One node of a cluster (ops/cluster.sh sets these; the defaults are the single node):
#   KAFKA_NODE_ID           node.id, default 1
#   KAFKA_NODE_DIR          this node's config, data and logs, default $LEDGER_VAR_DIR/kafka
#   KAFKA_VOTERS            controller.quorum.voters, default this node alone
#   KAFKA_CLUSTER_ID        the cluster id to format with (the same on every node)
#   KAFKA_BOOTSTRAP         where the topic tools connect, default this node
#   KAFKA_REPLICATION       replication factor of every topic, default 1
#   KAFKA_MIN_ISR           min.insync.replicas of every topic, default 1
# Secure mode (LEDGER_KAFKA_SECURE=1; ops/security.sh makes the material in
# $LEDGER_VAR_DIR/security): clients connect with SASL_SSL (SASL/PLAIN over TLS, the
# brokers among themselves too), the controller listener is TLS with client certificates,
# and the StandardAuthorizer allows nothing that no ACL allows (super users: the brokers
# and admin only; `ledger acls apply` grants the ledger's principals what they need).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${LEDGER_VAR_DIR:-$ROOT/var}
PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-9093}
PARTITIONS=${LEDGER_PARTITIONS:-6}
HEAP=${KAFKA_HEAP:-512m}
NODE_ID=${KAFKA_NODE_ID:-1}
VOTERS=${KAFKA_VOTERS:-$NODE_ID@127.0.0.1:$CPORT}
REPLICATION=${KAFKA_REPLICATION:-1}
MIN_ISR=${KAFKA_MIN_ISR:-1}
# The jars are shared by every state directory; the broker's data is not.
KAFKA_HOME=${KAFKA_HOME:-$ROOT/var/kafka-dist}
KDIR=${KAFKA_NODE_DIR:-$VAR/kafka}
PIDFILE=$KDIR/broker.pid
BOOTSTRAP=${KAFKA_BOOTSTRAP:-127.0.0.1:$PORT}

log() { printf 'kafka: %s\n' "$*" >&2; }

SECURE=${LEDGER_KAFKA_SECURE:-0}
SEC=$VAR/security
AUTH=()  # what the topic tools need to connect
if [[ $SECURE == 1 ]]; then AUTH=(--command-config "$SEC/admin-java.properties"); fi

tool() {  # a short-lived Kafka command-line tool, quiet unless it fails
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.level=WARN \
    -Dlog4j2.configurationFile="$KDIR/log4j2-tools.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

fetch() {
  if [[ -f $KAFKA_HOME/libs/.complete ]]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found: run ops/install-deps.sh"; exit 1; }
  log "fetching the broker jars from Maven Central into $KAFKA_HOME/libs"
  mkdir -p "$KAFKA_HOME/libs"
  mvn -q -B -f "$ROOT/ops/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" ||
    { log "could not fetch the Kafka jars from Maven Central (see the output above)"; exit 1; }
  touch "$KAFKA_HOME/libs/.complete"
}

# The listeners: PLAINTEXT, or (secure) SASL_SSL for clients and brokers and TLS with
# client certificates for the controllers.
listener_config() {
  if [[ $SECURE != 1 ]]; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
PROPS
    return
  fi
  [[ -f $SEC/passwords && -f $SEC/node.pem ]] || { log "no security material: run ops/security.sh init"; exit 1; }
  local users="" p
  for p in broker admin publisher projector operator; do
    users+=" user_$p=\"$(sed -n "s/^$p=//p" "$SEC/passwords")\""
  done
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=SASL_SSL://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$(sed -n 's/^broker=//p' "$SEC/passwords")"$users;
ssl.keystore.type=PEM
ssl.keystore.location=$SEC/node.pem
ssl.truststore.type=PEM
ssl.truststore.location=$SEC/ca.pem
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:CN=ledger-node
allow.everyone.if.no.acl.found=false
PROPS
}

write_config() {
  mkdir -p "$KDIR/data" "$KDIR/logs"
  (umask 077 && : >"$KDIR/server.properties")  # it may hold the principals' passwords
  cat >"$KDIR/server.properties" <<PROPS
# Written by ops/kafka.sh; edit the script, not this file.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$VOTERS
$(listener_config)
log.dirs=$KDIR/data
num.partitions=1
auto.create.topics.enable=false
default.replication.factor=$REPLICATION
min.insync.replicas=$MIN_ISR
offsets.topic.replication.factor=$REPLICATION
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=$MIN_ISR
share.coordinator.state.topic.replication.factor=$REPLICATION
share.coordinator.state.topic.min.isr=$MIN_ISR
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$KDIR/log4j2.properties" <<PROPS
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KDIR/logs/server.log
appender.file.filePattern = $KDIR/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = warn
PROPS
  cat >"$KDIR/log4j2-tools.properties" <<PROPS
status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = error
rootLogger.appenderRef.err.ref = err
PROPS
}

format() {
  fetch
  write_config  # ports may differ from the last run; the data stays
  if [[ -f $KDIR/data/meta.properties ]]; then return 0; fi
  local id=${KAFKA_CLUSTER_ID:-}
  if [[ -z $id ]]; then id=$(tool kafka.tools.StorageTool random-uuid); fi
  log "formatting $KDIR/data (cluster $id, node $NODE_ID)"
  tool kafka.tools.StorageTool format -t "$id" -c "$KDIR/server.properties" >/dev/null
}

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then log "already running (pid $(cat "$PIDFILE")) on $BOOTSTRAP"; return 0; fi
  format
  log "starting node $NODE_ID on 127.0.0.1:$PORT (logs in $KDIR/logs)"
  setsid nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KDIR/log4j2.properties" -Dkafka.logs.dir="$KDIR/logs" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KDIR/server.properties" \
    >"$KDIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
}

wait_ready() {
  local limit=${1:-90} waited=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    if ! running; then
      if [[ -f $PIDFILE ]]; then log "the broker (pid $(cat "$PIDFILE")) exited; its errors:"
      else log "the broker is not running (no $PIDFILE); its errors:"; fi
      grep -hE 'ERROR|FATAL|Caused by|Exception:' "$KDIR/logs/stdout.log" "$KDIR/logs/server.log" \
        2>/dev/null | tail -n 12 >&2 || true
      tail -n 5 "$KDIR/logs/stdout.log" >&2 2>/dev/null || log "no logs in $KDIR/logs"
      exit 1
    fi
    if ((waited >= limit)); then log "not ready after ${limit}s"; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
  # The port opens before the broker has registered; a metadata request proves it serves.
  until tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" "${AUTH[@]}" --list >/dev/null 2>&1; do
    if ((waited >= limit)); then log "port open but not serving after ${limit}s"; exit 1; fi
    sleep 1; waited=$((waited + 1))
  done
  log "node $NODE_ID ready on 127.0.0.1:$PORT"
}

create_topic() {  # name partitions config...
  local name=$1 parts=$2; shift 2
  local args=()
  for c in "$@"; do args+=(--config "$c"); done
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "${AUTH[@]}" --create \
    --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$REPLICATION" "${args[@]}" \
    2>&1 | { grep -v "collide" || true; } >&2
}

topics() {
  # Events are the system of record: kept forever, timestamped by the broker on append.
  create_topic ledger.events "$PARTITIONS" retention.ms=-1 retention.bytes=-1 \
    message.timestamp.type=LogAppendTime min.insync.replicas="$MIN_ISR"
  # Reference data: compacted; the key carries the effective time so every version stays.
  create_topic ledger.reference 1 cleanup.policy=compact message.timestamp.type=LogAppendTime \
    min.compaction.lag.ms=3600000 min.insync.replicas="$MIN_ISR"
  create_topic ledger.events.dlq 1 retention.ms=-1 retention.bytes=-1 \
    message.timestamp.type=LogAppendTime min.insync.replicas="$MIN_ISR"
  # Which instance of a projector group owns which partition (ledger/cluster/instance_directory.h).
  create_topic ledger.instances 1 cleanup.policy=compact segment.ms=600000 min.compaction.lag.ms=0 \
    min.insync.replicas="$MIN_ISR"
  # The audit trail (ledger/producers/audit_log.h): who did what, kept forever.
  create_topic ledger.audit 1 retention.ms=-1 retention.bytes=-1 message.timestamp.type=LogAppendTime \
    min.insync.replicas="$MIN_ISR"
  log "topics ready: ledger.events ($PARTITIONS partitions), ledger.reference, ledger.events.dlq, ledger.instances, ledger.audit" \
    "(replication factor $REPLICATION, min.insync.replicas $MIN_ISR)"
}

status() {
  if running; then
    echo "broker: node $NODE_ID running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT, data in $KDIR/data"
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "${AUTH[@]}" --list | sed 's/^/  topic: /'
  else
    echo "broker: stopped (data in $KDIR/data)"
    return 3
  fi
}

stop() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "still running after 30s; SIGKILL"; kill -KILL "$pid"; fi
  rm -f "$PIDFILE"
  log "stopped"
}

crash() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill -KILL "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$PIDFILE"
  log "node $NODE_ID killed (SIGKILL)"
}

case ${1:-} in
  fetch) fetch ;;
  format) format ;;
  start) start ;;
  wait) wait_ready "${2:-90}" ;;
  topics) topics ;;
  status) status ;;
  stop) stop ;;
  kill) crash ;;
  up) start; wait_ready "${2:-90}"; topics ;;
  *) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
