#!/usr/bin/env bash
# Runs ledger_bench against a broker of its own (fresh, on free ports, 6 partitions),
# then stops that broker. Usage: run_bench.sh [BUILD_DIR] [ledger_bench options...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
export LEDGER_TEST_KAFKA_DIR=$(mktemp -d /tmp/ledger-bench-kafka-XXXXXX)
trap '"$ROOT/tests/integration/kafka_fixture.sh" stop >/dev/null 2>&1 || true' EXIT
LEDGER_PARTITIONS=6 "$ROOT/tests/integration/kafka_fixture.sh" start >/dev/null 2>&1
"$BUILD/tests/ledger_bench" --brokers "$(cat "$LEDGER_TEST_KAFKA_DIR/bootstrap")" "$@"
