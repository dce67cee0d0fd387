#!/usr/bin/env bash
# Installs every Debian package graphopt needs to build, test and run. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libonnx-dev python3-onnx
  libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libsqlite3-dev sqlite3 libpq-dev
  libssl-dev openssl
  libopenblas-dev
  prometheus
  postgresql python3-yaml
  clang libclang-rt-dev
  python3-grpcio python3-grpc-tools python3-protobuf python3-venv  # python3-venv: the Python client test
  chromium  # the HTML report test renders the page in headless chromium
  )
# ortbench (ONNX Runtime comparison) needs node and npm; install them only when absent, since
# some images ship a newer Node.js whose package conflicts with Debian's npm.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
