#!/usr/bin/env bash
# Makes the seed corpus (every documented example and the sample data) and runs the fuzz
# target over it with fuzz_replay. Usage: replay_corpus.sh MAKE_CORPUS FUZZ_REPLAY
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
cat "$ROOT/schema/README.md" "$ROOT/ops/sample/events.jsonl" | "$1" "$CORPUS" >/dev/null
n=$(find "$CORPUS" -name '*.ldg' | wc -l)
if ((n < 20)); then
  echo "replay_corpus: only $n corpus files made" >&2
  exit 1
fi
"$2" "$CORPUS"/*.ldg
