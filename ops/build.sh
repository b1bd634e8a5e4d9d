#!/usr/bin/env bash
# Configures and builds the ledger in build/ (or $LEDGER_BUILD_DIR), two jobs at a time.
# LEDGER_WERROR=ON (or OFF) sets whether compiler warnings are errors (the test command
# sets ON); unset, the build directory keeps what it was configured with (default OFF).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LEDGER_BUILD_DIR:-$ROOT/build}
options=(-DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}")
if [[ -n ${LEDGER_WERROR:-} ]]; then options+=(-DLEDGER_WERROR="$LEDGER_WERROR"); fi
cmake -S "$ROOT" -B "$BUILD" "${options[@]}" >/dev/null
cmake --build "$BUILD" -j "${LEDGER_BUILD_JOBS:-2}"
