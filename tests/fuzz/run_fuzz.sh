#!/usr/bin/env bash
# Builds the libFuzzer target with clang, AddressSanitizer and UBSan (in build-fuzz/),
# seeds it with every documented example and the sample data, and runs it.
# Usage: tests/fuzz/run_fuzz.sh [SECONDS=600]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_TO_RUN=${1:-600}
BUILD=$ROOT/build-fuzz
if ! command -v clang++ >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev
fi
"$ROOT/ops/install-deps.sh"
CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DLEDGER_FUZZ=ON -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target fuzz_apply make_corpus
CORPUS=$BUILD/fuzz-corpus
mkdir -p "$CORPUS" "$BUILD/fuzz-findings"
cat "$ROOT/schema/README.md" "$ROOT/ops/sample/events.jsonl" | "$BUILD/tests/make_corpus" "$CORPUS"
cd "$BUILD/fuzz-findings"
"$BUILD/tests/fuzz_apply" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -max_len=4096
