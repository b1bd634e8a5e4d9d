#!/usr/bin/env bash
# Runs one test with a Kafka broker of its own: starts a single-node broker on free
# loopback ports (tests/integration/kafka_fixture.sh) in a fresh directory, runs the
# command with LEDGER_TEST_KAFKA_DIR naming it, stops the broker and exits with the
# command's status. The ledger's topics have fixed names: on a broker shared by the
# tests, every replay would read every earlier test's events, and the tests could not
# run side by side.
# Usage: with_broker.sh COMMAND [ARGS...]
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LEDGER_TEST_KAFKA_DIR=$(mktemp -d /tmp/ledger-test-kafka-XXXXXX)
export LEDGER_TEST_KAFKA_DIR
stop() { "$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true; }
trap stop EXIT
if ! out=$("$ROOT/tests/integration/kafka_fixture.sh" start 2>&1); then
  echo "$out"
  echo "FAIL: the test's broker did not start"
  exit 1
fi
"$@"
