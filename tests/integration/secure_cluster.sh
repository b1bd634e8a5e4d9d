#!/usr/bin/env bash
# Integration, a secure three-node cluster of its own (ops/cluster.sh with
# LEDGER_KAFKA_SECURE=1: SASL_SSL for clients and among the brokers, TLS with client
# certificates among the controllers, nothing allowed without an ACL), on free ports: a
# representative part of the pipeline and group tests, as the least-privileged principals.
#   - the publisher publishes (and undecodable messages go in among the events) while two
#     instances of a projector group project as the projector;
#   - one instance is SIGKILLed mid-way (the other takes its partitions over: an owner
#     lost), then started again (it resumes from its own store: crash and resume);
#   - every partition is held by an instance's store up to its end and equals a clean
#     replay's (digest per partition); the clean replay's accounts equal a plaintext run's
#     of the same events (the CTest fixture's broker; offsets and record times differ
#     between brokers, so accounts are compared, not digests); both instances answer as
#     the clean replay; the operator lists the dead letters.
# Usage: secure_cluster.sh LEDGER_BINARY SYNTH_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
PLAIN=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-secure-cluster-XXXXXX)
export LEDGER_VAR_DIR=$WORK/var LEDGER_KAFKA_SECURE=1 LEDGER_PARTITIONS=4 KAFKA_HEAP=384m
export KAFKA_HOME=${KAFKA_HOME:-$ROOT/var/kafka-dist}
source "$ROOT/tests/support/free_port.sh"
source "$ROOT/tests/support/group.sh"
source "$ROOT/tests/support/compare_accounts.sh"
LEDGER_CLUSTER_PORT=$(free_port_run 6) || { echo "FAIL: no six consecutive free ports"; exit 1; }
export LEDGER_CLUSTER_PORT
publisher=""
cleanup() {
  for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [[ -n $publisher ]] && kill -KILL "$publisher" 2>/dev/null || true
  "$ROOT/ops/cluster.sh" stop >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; group_diagnose; exit 1; }
RUN=$RANDOM$RANDOM
GROUP=sc-$RUN
PYTHON=$("$ROOT/ops/python-env.sh")

"$ROOT/ops/security.sh" init 2>/dev/null
"$ROOT/ops/cluster.sh" up 180 >"$WORK/cluster.log" 2>&1 || { cat "$WORK/cluster.log"; fail "the secure cluster did not start"; }
BROKERS=$("$ROOT/ops/cluster.sh" bootstrap)
SEC=$LEDGER_VAR_DIR/security
echo "secure cluster up: $BROKERS ($(grep -h '^listeners=' "$LEDGER_VAR_DIR"/cluster/node1/server.properties))"
as() { local who=$1; shift; "$LEDGER" --brokers "$BROKERS" --kafka-config "$SEC/$who.properties" "$@"; }
as admin acls apply --group "$GROUP"
as admin acls apply --group "clean-$GROUP" >/dev/null  # the clean replay's consumer groups
# The instances (tests/support/group.sh reads $WORK/kafka.properties: a short session
# timeout) and every other ledger command below act as the projector.
{ cat "$SEC/projector.properties"; echo "session.timeout.ms=6000"; } >"$WORK/kafka.properties"
export LEDGER_KAFKA_CONFIG=$SEC/projector.properties
TOKEN=$("$LEDGER" --brokers "$BROKERS" token create secure --role analyst --tokens "$WORK/tokens" 2>/dev/null)

"$SYNTH" 20000 200 "$RUN" "SC$RUN" >"$WORK/events.jsonl"
mapfile -t PORTS < <(free_ports 2)
start_instance a "${PORTS[0]}" 1
start_instance b "${PORTS[1]}" 1
as publisher publish "$WORK/events.jsonl" --flush-timeout 240 >"$WORK/publish.log" 2>&1 &
publisher=$!
"$PYTHON" - "$BROKERS" "$SEC" "SC$RUN" <<'EOF'
# Undecodable messages among the events, as the publisher: dead letters.
import sys
from confluent_kafka import Producer
brokers, sec, prefix = sys.argv[1:4]
password = dict(l.strip().split("=", 1) for l in open(sec + "/passwords"))["publisher"]
p = Producer({"bootstrap.servers": brokers, "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
              "sasl.username": "publisher", "sasl.password": password, "ssl.ca.location": sec + "/ca.pem"})
for n in range(3):
    p.produce("ledger.events", key=f"{prefix}-JUNK-{n}", value=b"not a ledger envelope")
if p.flush(30) != 0:
    sys.exit("the undecodable messages were not acknowledged")
EOF

for _ in $(seq 1 60); do grep -q "assigned ledger.events" "$WORK/a.log" && break; sleep 0.5; done
sleep 1
echo "SIGKILL to instance a while publishing and projecting"
kill -KILL "${PID[a]}"
unset "PID[a]"
wait "$publisher" || { cat "$WORK/publish.log"; fail "publishing did not complete"; }
publisher=""
grep -q "published 20000 of 20000 events" "$WORK/publish.log" || fail "not every event was acknowledged: $(cat "$WORK/publish.log")"
for _ in $(seq 1 60); do [[ $(owned_by b | wc -w) == 4 ]] && break; sleep 1; done
[[ $(owned_by b | wc -w) == 4 ]] || fail "instance b did not take instance a's partitions over: it owns $(owned_by b)"
echo "instance b owns every partition after a's loss"
start_instance a "${PORTS[0]}" 1
echo "instance a started again on its store"

clean_replay || { tail -n 5 "$WORK/clean.log"; fail "the clean replay failed"; }
ASKED=()
choose_asked "$WORK/events.jsonl" 20
settled=""
for _ in $(seq 1 120); do
  if group_settled a b && all_right a b; then settled=yes; break; fi
  sleep 1
done
[[ -n $settled ]] || fail "the instances did not settle on the clean replay's answers"
echo "instances a (owns $(owned_by a)) and b (owns $(owned_by b)) answer as the clean replay"
echo "instance a after its restart: $(grep -h "assigned ledger.events" "$WORK/a.log" | tail -n 4 | sed 's/.*assigned //' | paste -sd ';')"
stop_instance a
stop_instance b
expect_partitions_like_clean a b

as operator dlq list --group "$GROUP" >"$WORK/dlq.jsonl"
for n in 0 1 2; do
  grep -q "SC$RUN-JUNK-$n" "$WORK/dlq.jsonl" || fail "the undecodable message $n is not a dead letter: $(head -c 300 "$WORK/dlq.jsonl")"
done
echo "the operator lists the $(grep -c "SC$RUN-JUNK" "$WORK/dlq.jsonl") dead letters of the undecodable messages"

LEDGER_KAFKA_CONFIG="" "$LEDGER" --brokers "$PLAIN" publish "$WORK/events.jsonl" --flush-timeout 60 >/dev/null
LEDGER_KAFKA_CONFIG="" "$LEDGER" --brokers "$PLAIN" --data-dir "$WORK/plain" project --group "plain-$RUN" \
  --metrics-listen "" --http-listen "" --until-caught-up >"$WORK/plain.log" 2>&1 ||
  { tail -n 5 "$WORK/plain.log"; fail "the plaintext run failed"; }
expect_accounts_alike "$WORK/events.jsonl" "$WORK/clean" "$WORK/plain" "the secure cluster against a plaintext broker"
echo "PASS: on a secure three-node cluster, through an owner's loss and restart: the same projection"
