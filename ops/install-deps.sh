#!/usr/bin/env bash
# Installs the Debian packages the ledger builds and runs with, only those missing.
# Safe to run again: a second run with everything present does nothing but check.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl openssl
  librdkafka-dev librocksdb-dev libabsl-dev libjemalloc-dev
  flatbuffers-compiler libflatbuffers-dev
  prometheus-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhowardhinnant-date-dev tzdata libboost-dev libcpp-httplib-dev libssl-dev wrk prometheus chromium
  openjdk-17-jre-headless maven python3 python3-venv
  procps netcat-openbsd time groff-base
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
