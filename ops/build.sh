#!/usr/bin/env bash
# Configures and builds the ledger in build/ (or $LEDGER_BUILD_DIR), two jobs at a time.
# Compiler warnings are errors (LEDGER_WERROR=OFF builds anyway, e.g. with a newer
# compiler that warns more). The quickstart and the test command build alike, so that
# one builds on what the other built.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LEDGER_BUILD_DIR:-$ROOT/build}
options=(-DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}")
options+=(-DLEDGER_WERROR="${LEDGER_WERROR:-ON}")
cmake -S "$ROOT" -B "$BUILD" "${options[@]}" >/dev/null
cmake --build "$BUILD" -j "${LEDGER_BUILD_JOBS:-2}"
