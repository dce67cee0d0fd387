#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds graphopt and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
# The ONNX Runtime comparisons (test_ort, test_contrib_kernels) use ortbench, which installs the
# npm package onnxruntime-node on first use: install it once here rather than from two tests
# running at once.
ORTBENCH=../shared/tools/ortbench/ortbench
if command -v npm >/dev/null 2>&1 && [ -x "$ORTBENCH" ]; then
  "$ORTBENCH" ../shared/onnx-backend-tests/node/test_relu/model.onnx --levels disabled --runs 1 \
    >/dev/null || echo "warning: ortbench could not install ONNX Runtime; its tests will say why" >&2
fi
cd build
ctest --output-on-failure --timeout 1200 -j"${CTEST_JOBS:-2}"
# A bounded run of the model-loader fuzzer (fuzz/, docs/DESIGN.md) in its own clang build
# (build-fuzz/: about 2 CPU-minutes from scratch, seconds once built). GRAPHOPT_FUZZ_SECONDS=0
# skips it.
FUZZ_SECONDS="${GRAPHOPT_FUZZ_SECONDS:-60}"
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  cd .. && JOBS="${JOBS:-$(nproc)}" ./scripts/fuzz_loader.sh "$FUZZ_SECONDS"
fi
