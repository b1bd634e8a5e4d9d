#!/usr/bin/env bash
# Configures and builds the ledger in build/ (or $LEDGER_BUILD_DIR), two jobs at a time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LEDGER_BUILD_DIR:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$BUILD" -j "${LEDGER_BUILD_JOBS:-2}"
