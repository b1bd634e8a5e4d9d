#!/usr/bin/env bash
# A Python environment for the foreign-producer interop test: Debian's python3 with a
# virtual environment holding confluent-kafka and flatbuffers from PyPI (pinned). Created
# once under LEDGER_VAR_DIR (default <checkout>/var); prints the interpreter's path.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LEDGER_VAR_DIR:-$ROOT/var}/python-interop
REQUIREMENTS=(confluent-kafka==2.16.1 flatbuffers==25.12.19)
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
stamp="$VENV/.requirements"
if [[ ! -x $VENV/bin/python || $(cat "$stamp" 2>/dev/null) != "${REQUIREMENTS[*]}" ]]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQUIREMENTS[@]}" >&2
  echo "${REQUIREMENTS[*]}" >"$stamp"
fi
echo "$VENV/bin/python"
