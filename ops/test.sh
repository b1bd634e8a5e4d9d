#!/usr/bin/env bash
# The test command: install what is missing, build, and run every test (unit,
# integration against a real Kafka broker, end-to-end with the ledger binary).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LEDGER_BUILD_DIR:-$ROOT/build}

"$ROOT/ops/install-deps.sh"
"$ROOT/ops/build.sh"   # the quickstart's build, if it ran: nothing to rebuild
"$ROOT/ops/kafka.sh" fetch   # the broker jars, once, before any test needs them
cd "$BUILD"
# Three tests at a time: most of a test's time is spent waiting on brokers and group
# rebalances, and each integration test has a broker (or cluster) of its own.
ctest --output-on-failure --timeout 900 -j "${LEDGER_TEST_JOBS:-3}" "$@"
