#!/usr/bin/env bash
# The newcomer's one command: install what is missing, build, start the local stack,
# publish the sample data (once) and print what to try next. A second run reuses all of
# it and is quick.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${LEDGER_VAR_DIR:-$ROOT/var}
LEDGER=${LEDGER_BUILD_DIR:-$ROOT/build}/ledger
BROKERS=127.0.0.1:${KAFKA_PORT:-9092}

"$ROOT/ops/install-deps.sh"
mkdir -p "$VAR/log"
echo "quickstart: building (log in $VAR/log/build.log)"
"$ROOT/ops/build.sh" >"$VAR/log/build.log" 2>&1 || { tail -n 40 "$VAR/log/build.log"; exit 1; }
"$ROOT/ops/stack.sh" up

if [[ ! -f $VAR/kafka/data/.sample-published ]]; then
  "$LEDGER" --brokers "$BROKERS" publish "$ROOT/ops/sample/events.jsonl"
  touch "$VAR/kafka/data/.sample-published"
fi
"$LEDGER" --brokers "$BROKERS" --data-dir "$VAR/ledger" status --wait 60 >/dev/null

# A read token for the HTTP API, made once (only its hash is stored in the tokens file).
if [[ ! -s $VAR/quickstart.token ]]; then
  "$LEDGER" --data-dir "$VAR/ledger" token create quickstart --role analyst 2>/dev/null >"$VAR/quickstart.token"
fi
TOKEN=$(cat "$VAR/quickstart.token")
HTTP=${LEDGER_HTTP_LISTEN:-127.0.0.1:8080}

L=${LEDGER#"$PWD"/}
cat <<TEXT

The ledger is running: Kafka on $BROKERS, the projector's store in $VAR/ledger.
Try (sample accounts ACME-001, GLOBEX-002, INITECH-003, UMBRELLA-004, HOOLI-005):

  $L query entitlement --account ACME-001 --product endpoint-protection --version 14.3 --at 2025-06-01
  $L query entitlement --account GLOBEX-002 --product backup-exec --version 20 --at 2025-06-01 --severity 1 --format json
  $L query case --account INITECH-003 --case CS-9001 --at 2025-06-03T04:00:00Z --explain
  $L query list open-cases --at 2025-06-10
  $L query list agreements-lapsing --within-days 365 --format csv
  $L query entitlement --account ACME-001 --product endpoint-protection --known-at 2020-01-01
  $L query entitlement --account UMBRELLA-004 --product endpoint-protection --at 2025-11-01
  $L query entitlement --account HOOLI-005 --product endpoint-protection
  $L query events --account ACME-001
  $L query reference --type ProductVersionLifecycle
  $L publish my-events.jsonl        # JSON lines, see schema/README.md
  $L status --token-file $VAR/quickstart.token   # health: running or paused, lag, dead letters
  curl -s http://${LEDGER_METRICS_LISTEN:-127.0.0.1:9464}/metrics | grep ledger_

The HTTP API (OpenAPI document at http://$HTTP/v1/openapi.json), with a read token made for you:

  curl -s -H "Authorization: Bearer $TOKEN" "http://$HTTP/v1/entitlement?account=ACME-001&product=endpoint-protection&at=2025-06-01"
  curl -s -H "Authorization: Bearer $TOKEN" "http://$HTTP/v1/lists/open-cases?at=2025-06-10&format=csv"

The status page: http://$HTTP/status#token=$TOKEN
More, one command each for analysts, operators and upstream developers: "How do I ..." in README.md.
Stop everything with ops/stack.sh down; ops/stack.sh up starts it again with all data.
TEXT
