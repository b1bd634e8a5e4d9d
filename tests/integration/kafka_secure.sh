#!/usr/bin/env bash
# Integration: the ledger on a secure broker (ops/security.sh, ops/kafka.sh with
# LEDGER_KAFKA_SECURE=1: SASL_SSL with PLAIN, the StandardAuthorizer, nothing allowed
# without an ACL), one node of its own on free ports, 4 partitions like the fixture's.
#   - `ledger acls check` finds the ledger's ACLs missing, `apply` creates exactly the
#     documented set (`print`), then `check` finds them in place;
#   - publish as the publisher, project as the projector: every account's stored events
#     and their outcomes equal a plaintext run's of the same events (the CTest fixture's
#     broker);
#   - each forbidden (principal, operation, resource) is denied, with exit code 77 and a
#     message naming the user; only the projector may write ledger.instances;
#   - a wrong password, an unknown user, an untrusted CA, a host-name mismatch: exit 77 at
#     once (not after the flush timeout), a message naming the broker, user and mechanism,
#     and the password in no output; a projector refused pauses (kafka_auth) and says why
#     in its log and /v1/status; one refused by an ACL pauses (kafka_acl) and resumes by
#     itself once `ledger acls apply` grants it;
#   - token creation and revocation, ACL applies and HTTP admin calls are on ledger.audit;
#   - SCRAM asked of this librdkafka: the documented warning;
#   - the security material and a store are private to their owner.
# Usage: kafka_secure.sh LEDGER_BINARY SYNTH_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER=$1
SYNTH=$2
PLAIN=$(cat "${LEDGER_TEST_KAFKA_DIR:?}/bootstrap")
WORK=$(mktemp -d /tmp/ledger-secure-XXXXXX)
source "$ROOT/tests/support/free_port.sh"
source "$ROOT/tests/support/compare_accounts.sh"
mapfile -t PORTS < <(free_ports 2)
export LEDGER_VAR_DIR=$WORK/var LEDGER_KAFKA_SECURE=1 LEDGER_PARTITIONS=4
export KAFKA_PORT=${PORTS[0]} KAFKA_CONTROLLER_PORT=${PORTS[1]} KAFKA_HEAP=384m
export KAFKA_HOME=${KAFKA_HOME:-$ROOT/var/kafka-dist}
cleanup() {
  "$ROOT/ops/kafka.sh" stop >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
SEC=$LEDGER_VAR_DIR/security
BROKERS=127.0.0.1:$KAFKA_PORT
RUN=$RANDOM$RANDOM
PYTHON=$("$ROOT/ops/python-env.sh")

"$ROOT/ops/security.sh" init 2>/dev/null
"$ROOT/ops/kafka.sh" up >"$WORK/kafka.log" 2>&1 || { cat "$WORK/kafka.log"; fail "the secure broker did not start"; }
as() { local who=$1; shift; "$LEDGER" --brokers "$BROKERS" --kafka-config "$SEC/$who.properties" "$@"; }

echo "--- file modes"
[[ $(stat -c %a "$SEC") == 700 ]] || fail "$SEC is $(stat -c %a "$SEC"), not 700"
for f in "$SEC"/*; do [[ $(stat -c %a "$f") == 600 ]] || fail "$f is $(stat -c %a "$f"), not 600"; done
echo "the security material is 0700/0600"

echo "--- ACLs"
as admin acls print --group "secure-$RUN" >"$WORK/acls.txt"
echo "documented: $(wc -l <"$WORK/acls.txt") ACLs"
set +e
as admin acls check --group "secure-$RUN" >"$WORK/check.txt"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "^missing User:publisher topic ledger.events WRITE" "$WORK/check.txt" ||
  fail "acls check before apply: exit $rc, $(tail -n 1 "$WORK/check.txt")"
set +e
as publisher acls apply --group "secure-$RUN" >"$WORK/out" 2>&1; rc=$?
set -e
[[ $rc == 77 ]] || fail "the publisher created ACLs (exit $rc): $(cat "$WORK/out")"
as admin acls apply --group "secure-$RUN"
as admin acls check --group "secure-$RUN"
"$PYTHON" - "$BROKERS" "$SEC" >"$WORK/found.txt" <<'EOF'
# The cluster's ACLs as Kafka's own Admin API lists them, in `ledger acls print`'s form.
import sys
from confluent_kafka.admin import AdminClient, AclBindingFilter, ResourceType, ResourcePatternType, AclOperation, AclPermissionType
brokers, sec = sys.argv[1], sys.argv[2]
password = dict(l.strip().split("=", 1) for l in open(sec + "/passwords"))["admin"]
admin = AdminClient({"bootstrap.servers": brokers, "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                     "sasl.username": "admin", "sasl.password": password, "ssl.ca.location": sec + "/ca.pem"})
f = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
for b in admin.describe_acls(f, request_timeout=15).result():
    star = "*" if b.resource_pattern_type == ResourcePatternType.PREFIXED else ""
    print(f"{b.principal} {b.restype.name.lower()} {b.name}{star} {b.operation.name}")
EOF
diff <(sort "$WORK/acls.txt") <(sort "$WORK/found.txt") || fail "the cluster's ACLs are not exactly the documented set"
echo "the cluster's ACLs are exactly the $(wc -l <"$WORK/acls.txt") documented ones"

echo "--- publish and project as the least-privileged principals"
"$SYNTH" 6000 60 "$RUN" "SEC$RUN" >"$WORK/events.jsonl"
as publisher publish "$WORK/events.jsonl" --flush-timeout 60 >/dev/null
as projector --data-dir "$WORK/secure-store" project --group "secure-$RUN" --metrics-listen "" --http-listen "" \
  --until-caught-up >"$WORK/project.log" 2>&1 || { tail "$WORK/project.log"; fail "the projector failed"; }
"$LEDGER" --brokers "$PLAIN" publish "$WORK/events.jsonl" --flush-timeout 60 >/dev/null
"$LEDGER" --brokers "$PLAIN" --data-dir "$WORK/plain-store" project --group "plain-$RUN" --metrics-listen "" \
  --http-listen "" --until-caught-up >"$WORK/plain.log" 2>&1 || { tail "$WORK/plain.log"; fail "the plaintext projector failed"; }
# The fixture's broker holds other tests' events too: the accounts of these events are
# compared.
expect_accounts_alike "$WORK/events.jsonl" "$WORK/secure-store" "$WORK/plain-store" "SASL_SSL against PLAINTEXT"
[[ $(stat -L -c %a "$WORK/secure-store") == 700 ]] || fail "the store is $(stat -L -c %a "$WORK/secure-store"), not 700"

refused() {  # description command...: exit 77 and a message naming the user
  local what=$1 rc
  shift
  set +e
  "$@" >"$WORK/out" 2>&1; rc=$?
  set -e
  [[ $rc == 77 ]] || fail "$what: exit $rc, not 77: $(head -c 400 "$WORK/out")"
  grep -q "refused user '" "$WORK/out" || fail "$what: the message names no user: $(head -c 400 "$WORK/out")"
  echo "$what: refused (77): $(grep -m1 "refused user" "$WORK/out" | cut -c1-160)"
}
echo "--- the audit trail on ledger.audit"
OPERATOR_TOKEN=$(as operator token create ops-on-call --role operator --tokens "$WORK/tokens" 2>/dev/null)
as operator token create leaver --role analyst --tokens "$WORK/tokens" >/dev/null 2>&1
as operator token revoke leaver --tokens "$WORK/tokens" >/dev/null
[[ $(stat -c %a "$WORK/tokens") == 600 ]] || fail "the tokens file is $(stat -c %a "$WORK/tokens"), not 600"
mapfile -t API_PORT < <(free_ports 1)
# (not through `as`: $! must be the projector's own pid, so that SIGTERM stops it and it
# writes what it recorded before it exits)
"$LEDGER" --brokers "$BROKERS" --kafka-config "$SEC/projector.properties" --data-dir "$WORK/secure-store" project \
  --group "secure-$RUN" --metrics-listen "" --http-listen "127.0.0.1:${API_PORT[0]}" --tokens "$WORK/tokens" \
  --ingest-kafka-config "$SEC/publisher.properties" >"$WORK/serving.log" 2>&1 &
serving=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:${API_PORT[0]}/readyz" >/dev/null && break; sleep 0.5; done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OPERATOR_TOKEN" \
  "http://127.0.0.1:${API_PORT[0]}/v1/admin/checkpoint?name=audited")
[[ $code == 200 ]] || fail "the checkpoint over HTTP answered $code: $(tail -n 3 "$WORK/serving.log")"
# HTTP ingest publishes as the publisher (--ingest-kafka-config); a re-drive over HTTP
# runs as the projector, whom Kafka refuses the dead-letter topic: 502, saying so.
UPSTREAM_TOKEN=$(as operator token create upstream --role publisher --tokens "$WORK/tokens" 2>/dev/null)
"$SYNTH" 1 1 "$RUN" "HTTP$RUN" >"$WORK/one.jsonl"
code=$(curl -s -o "$WORK/ingest.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $UPSTREAM_TOKEN" \
  --data-binary @"$WORK/one.jsonl" "http://127.0.0.1:${API_PORT[0]}/v1/events")
[[ $code == 200 ]] && grep -q '"published":1' "$WORK/ingest.json" ||
  fail "HTTP ingest as the publisher answered $code: $(head -c 300 "$WORK/ingest.json")"
echo "HTTP ingest published as the publisher: $(head -c 120 "$WORK/ingest.json")"
"$PYTHON" - "$BROKERS" "$SEC" <<'EOF'
# An undecodable message, as the publisher: a dead letter to re-drive.
import sys
from confluent_kafka import Producer
brokers, sec = sys.argv[1:3]
password = dict(l.strip().split("=", 1) for l in open(sec + "/passwords"))["publisher"]
p = Producer({"bootstrap.servers": brokers, "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
              "sasl.username": "publisher", "sasl.password": password, "ssl.ca.location": sec + "/ca.pem"})
p.produce("ledger.events", key="JUNK", value=b"not a ledger envelope")
sys.exit(0 if p.flush(30) == 0 else "not acknowledged")
EOF
for _ in $(seq 1 40); do
  curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "http://127.0.0.1:${API_PORT[0]}/v1/status" |
    grep -q '"dead_letter":[1-9]' && break
  sleep 0.5
done
code=$(curl -s -o "$WORK/replay.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OPERATOR_TOKEN" \
  "http://127.0.0.1:${API_PORT[0]}/v1/admin/dlq-replay")
[[ $code == 502 ]] && grep -q "refused user 'projector'" "$WORK/replay.json" ||
  fail "a re-drive over HTTP as the projector answered $code: $(head -c 300 "$WORK/replay.json")"
echo "a re-drive over HTTP, as the projector: 502, $(head -c 150 "$WORK/replay.json")"
kill -TERM "$serving"; wait "$serving" 2>/dev/null || true
as operator audit --group "secure-$RUN" >"$WORK/audit.jsonl"
cat "$WORK/audit.jsonl"
grep -q '"who":"admin".*"action":"acls apply".*"result":"ok".*"via":"cli"' "$WORK/audit.jsonl" ||
  fail "acls apply is not on ledger.audit"
grep -q '"who":"ops-on-call","role":"operator","action":"POST /v1/admin/checkpoint","target":"?name=audited","result":"ok","via":"http"' \
  "$WORK/audit.jsonl" || fail "the HTTP checkpoint is not on ledger.audit"
grep -q '"who":"operator".*"action":"token create","target":"\\"ops-on-call\\" (operator)","result":"ok","via":"cli"' \
  "$WORK/audit.jsonl" || fail "the token's creation is not on ledger.audit"
grep -q '"who":"operator".*"action":"token revoke","target":"\\"leaver\\"","result":"ok","via":"cli"' \
  "$WORK/audit.jsonl" || fail "the token's revocation is not on ledger.audit"
! grep -q -- "$OPERATOR_TOKEN" "$WORK/audit.jsonl" || fail "a token is on ledger.audit"
for p in $(cut -d= -f2 "$SEC/passwords"); do ! grep -q -- "$p" "$WORK/audit.jsonl" || fail "a password is on ledger.audit"; done
refused "the publisher reading ledger.audit" as publisher audit --group "secure-$RUN"

echo "--- what each principal may not do"
head -n 5 "$WORK/events.jsonl" >"$WORK/five.jsonl"
refused "the projector publishing events" as projector publish "$WORK/five.jsonl" --flush-timeout 30
grep -m 3 '"type": "ServiceLevelDefined"' "$ROOT/ops/sample/events.jsonl" >"$WORK/reference.jsonl"
refused "the operator publishing reference data" as operator publish "$WORK/reference.jsonl" --flush-timeout 30
"$PYTHON" - "$BROKERS" "$SEC" "secure-$RUN" >"$WORK/instances.txt" <<'EOF'
# Who may write ledger.instances (and read ledger.events).
import sys
from confluent_kafka import Producer, Consumer, KafkaException
brokers, sec, group = sys.argv[1:4]
passwords = dict(l.strip().split("=", 1) for l in open(sec + "/passwords"))
def conf(user):
    return {"bootstrap.servers": brokers, "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
            "sasl.username": user, "sasl.password": passwords[user], "ssl.ca.location": sec + "/ca.pem"}
for user in ("publisher", "operator", "projector"):
    results = []
    p = Producer(dict(conf(user), **{"message.timeout.ms": 10000}))
    p.produce("ledger.instances", key=group + "/x", value=None, on_delivery=lambda err, msg: results.append(err))
    p.flush(15)
    err = results[0] if results else "no delivery report"
    print(f"{user} write ledger.instances: {'allowed' if err is None else 'denied: ' + str(err)}")
c = Consumer(dict(conf("publisher"), **{"group.id": group + ".probe", "auto.offset.reset": "earliest"}))
c.subscribe(["ledger.events"])
m = c.poll(10)
print("publisher read ledger.events: " + ("denied: " + m.error().str() if m is not None and m.error() else
                                         "allowed" if m is not None else "nothing"))
c.close()
EOF
cat "$WORK/instances.txt"
grep -q "^projector write ledger.instances: allowed" "$WORK/instances.txt" || fail "the projector may not write ledger.instances"
grep -q "^publisher write ledger.instances: denied" "$WORK/instances.txt" || fail "the publisher may write ledger.instances"
grep -q "^operator write ledger.instances: denied" "$WORK/instances.txt" || fail "the operator may write ledger.instances"
grep -q "^publisher read ledger.events: denied" "$WORK/instances.txt" || fail "the publisher may read ledger.events"

echo "--- wrong credentials and certificates"
PASSWORD=$(sed -n 's/^sasl.password=//p' "$SEC/publisher.properties")
sed 's/^sasl.password=.*/sasl.password=not-the-password-4711/' "$SEC/publisher.properties" >"$WORK/wrong-password.properties"
sed 's/^sasl.username=.*/sasl.username=nobody/' "$SEC/publisher.properties" >"$WORK/unknown-user.properties"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other-ca.key" -out "$WORK/other-ca.pem" -days 2 \
  -subj "/CN=another-ca" 2>/dev/null
sed "s|^ssl.ca.location=.*|ssl.ca.location=$WORK/other-ca.pem|" "$SEC/publisher.properties" >"$WORK/other-ca.properties"
for case in wrong-password unknown-user other-ca; do
  start=$(date +%s%N)
  refused "$case" "$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/$case.properties" publish "$WORK/five.jsonl" \
    --flush-timeout 120
  echo "  ($(( ($(date +%s%N) - start) / 1000000 )) ms, with a flush timeout of 120 s)"
  ! grep -q -- "$PASSWORD\|not-the-password-4711" "$WORK/out" || fail "$case: a password is in the output"
done
grep -q "authentication failed" <("$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/wrong-password.properties" \
  publish "$WORK/five.jsonl" --flush-timeout 120 2>&1) || fail "a wrong password is not said to be one"
# A host-name mismatch: a TLS endpoint whose certificate the ledger's CA signed, for
# another name than the address the client dials (openssl s_server stands in for a
# broker behind the wrong address; the handshake fails before any Kafka request).
openssl req -newkey rsa:2048 -nodes -keyout "$WORK/elsewhere.key" -out "$WORK/elsewhere.csr" \
  -subj "/CN=elsewhere.example" 2>/dev/null
openssl x509 -req -in "$WORK/elsewhere.csr" -CA "$SEC/ca.pem" -CAkey "$SEC/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=DNS:elsewhere.example') -out "$WORK/elsewhere.pem" 2>/dev/null
mapfile -t TLS_PORT < <(free_ports 1)
openssl s_server -quiet -accept "${TLS_PORT[0]}" -cert "$WORK/elsewhere.pem" -key "$WORK/elsewhere.key" \
  </dev/null >/dev/null 2>&1 &
tls_pid=$!
for _ in $(seq 1 20); do (exec 3<>"/dev/tcp/127.0.0.1/${TLS_PORT[0]}") 2>/dev/null && break; sleep 0.2; done
start=$(date +%s%N)
refused "host-name mismatch" "$LEDGER" --brokers "127.0.0.1:${TLS_PORT[0]}" --kafka-config "$SEC/publisher.properties" \
  publish "$WORK/five.jsonl" --flush-timeout 120
echo "  ($(( ($(date +%s%N) - start) / 1000000 )) ms, with a flush timeout of 120 s)"
kill "$tls_pid" 2>/dev/null || true
grep -qi "TLS connection failed.*\(hostname\|host name\|certificate verify\)" "$WORK/out" ||
  fail "a host-name mismatch is not said to be a TLS failure: $(head -c 400 "$WORK/out")"
# A projector whose credentials are refused pauses and says why, in its log and in
# /v1/status (and the metric ledger_projector_paused{reason="kafka_auth"}).
mapfile -t API_PORT < <(free_ports 1)
"$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/wrong-password.properties" --data-dir "$WORK/refused-store" \
  project --group "secure-$RUN" --metrics-listen "" --http-listen "127.0.0.1:${API_PORT[0]}" --tokens "$WORK/tokens" \
  >"$WORK/refused.log" 2>&1 &
refused_pid=$!
for _ in $(seq 1 30); do grep -q "consumption paused" "$WORK/refused.log" && break; sleep 0.5; done
curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "http://127.0.0.1:${API_PORT[0]}/v1/status" >"$WORK/refused-status.json"
kill -TERM "$refused_pid" 2>/dev/null || true
wait "$refused_pid" 2>/dev/null || true
grep -q "refused user 'publisher' (SASL_SSL, PLAIN): authentication failed.*consumption paused" "$WORK/refused.log" ||
  fail "the refused projector did not say why it paused: $(tail -n 3 "$WORK/refused.log")"
"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["paused"] == "kafka_auth" and
  "authentication failed" in s["paused_why"] else 1)' "$WORK/refused-status.json" ||
  fail "/v1/status of the refused projector: $(head -c 400 "$WORK/refused-status.json")"
! grep -q "not-the-password-4711" "$WORK/refused.log" "$WORK/refused-status.json" || fail "the projector showed the password"
echo "a projector with a wrong password pauses and says why"

echo "--- an ACL missing: the projector pauses (kafka_acl) and resumes by itself once it is applied"
LATE=late-$RUN
mapfile -t API_PORT < <(free_ports 1)
status_of_late() { curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" "http://127.0.0.1:${API_PORT[0]}/v1/status"; }
"$LEDGER" --brokers "$BROKERS" --kafka-config "$SEC/projector.properties" --data-dir "$WORK/late-store" project \
  --group "$LATE" --metrics-listen "" --http-listen "127.0.0.1:${API_PORT[0]}" --tokens "$WORK/tokens" \
  >"$WORK/late.log" 2>&1 &
late_pid=$!
for _ in $(seq 1 40); do grep -q "consumption paused" "$WORK/late.log" && break; sleep 0.5; done
status_of_late >"$WORK/late-status.json"
"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["paused"] == "kafka_acl" else 1)' \
  "$WORK/late-status.json" || { kill -KILL "$late_pid"; fail "without its ACLs: $(head -c 300 "$WORK/late-status.json"); $(tail -n 3 "$WORK/late.log")"; }
echo "paused: $("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["paused_why"][:160])' "$WORK/late-status.json")"
(umask 077 && echo "$OPERATOR_TOKEN" >"$WORK/operator.token")
as projector --data-dir "$WORK/late-store" status --api "http://127.0.0.1:${API_PORT[0]}" --token-file "$WORK/operator.token" \
  >"$WORK/late-cli.txt" || fail "ledger status of the paused projector: $(cat "$WORK/late-cli.txt")"
grep -q "PAUSED (kafka_acl): Kafka at .* refused user 'projector'" "$WORK/late-cli.txt" ||
  fail "ledger status does not say the projector is paused: $(cat "$WORK/late-cli.txt")"
echo "ledger status: $(grep PAUSED "$WORK/late-cli.txt" | cut -c1-120)"
status_page() {  # the status page of the late projector, as a browser renders it
  timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --dump-dom \
    "http://127.0.0.1:${API_PORT[0]}/status#token=$OPERATOR_TOKEN" 2>/dev/null
}
status_page >"$WORK/late-page.html" || fail "chromium could not load the status page"
grep -q '<div id="health" class="down">PAUSED (kafka_acl): Kafka at .*runbook LedgerProjectorPaused' "$WORK/late-page.html" ||
  fail "the status page has no banner for the pause: $(grep -o '<div id="health"[^<]*' "$WORK/late-page.html")"
echo "status page: $(grep -o '<div id="health"[^<]*' "$WORK/late-page.html" | cut -c1-120)"
as admin acls apply --group "$LATE" >/dev/null
resumed=""
for _ in $(seq 1 60); do
  status_of_late >"$WORK/late-status.json"
  if "$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1]));
sys.exit(0 if s["paused"] == "" and s["projected"] >= 6000 and s["lag"] == 0 else 1)' "$WORK/late-status.json"; then
    resumed=yes; break
  fi
  sleep 1
done
if [[ -n $resumed ]]; then
  # Its dead letter (the undecodable message above): a red tile with the next step.
  status_page >"$WORK/late-page.html" || fail "chromium could not load the status page"
  grep -q '<span class="next" id="dead-next">ledger dlq list --summary says why' "$WORK/late-page.html" ||
    fail "the dead-letter tile says no next step: $(grep -o '<b id="dead"[^/]*' "$WORK/late-page.html")"
  grep -q '<div id="health" class="ok">running, caught up' "$WORK/late-page.html" ||
    fail "the banner after resuming: $(grep -o '<div id="health"[^<]*' "$WORK/late-page.html")"
fi
kill -TERM "$late_pid"; wait "$late_pid" 2>/dev/null || true
[[ -n $resumed ]] || fail "the projector did not resume once its ACLs were applied: $(head -c 300 "$WORK/late-status.json"); $(tail -n 3 "$WORK/late.log")"
grep -q "consumption resumed" "$WORK/late.log" || fail "the projector did not say it resumed"
echo "resumed by itself once its ACLs were applied: $(grep -m1 'consumption resumed' "$WORK/late.log" | cut -c1-140)"

echo "--- SCRAM from this librdkafka"
sed 's/^sasl.mechanisms=.*/sasl.mechanisms=SCRAM-SHA-512/' "$SEC/publisher.properties" >"$WORK/scram.properties"
set +e
"$LEDGER" --brokers "$BROKERS" --kafka-config "$WORK/scram.properties" publish "$WORK/five.jsonl" --flush-timeout 60 \
  >"$WORK/scram.out" 2>&1; rc=$?
set -e
grep -q "warning: sasl.mechanisms=SCRAM-SHA-512 with librdkafka .*fails against Kafka 4" "$WORK/scram.out" ||
  fail "no SCRAM warning: $(head -c 300 "$WORK/scram.out")"
[[ $rc == 77 ]] || fail "SCRAM: exit $rc, not 77"
echo "SCRAM: warned, and refused as predicted (exit $rc)"
echo "PASS: the ledger on a secure broker: least privilege, clear refusals, the same projection"
