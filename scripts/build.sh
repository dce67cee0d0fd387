#!/usr/bin/env bash
# Configures and builds graphopt into ./build (Release with debug info, ccache, Ninja).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build build -j"$JOBS"
