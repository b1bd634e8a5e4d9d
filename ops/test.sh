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
ctest --output-on-failure --timeout 900 "$@"
