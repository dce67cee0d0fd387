#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds graphopt and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
cd build
ctest --output-on-failure --timeout 1200 -j"${CTEST_JOBS:-2}"
