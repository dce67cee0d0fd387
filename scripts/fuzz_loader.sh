#!/usr/bin/env bash
# Builds the model-loader fuzzer (clang, libFuzzer, ASan) in build-fuzz/ and runs it for SECONDS
# (default 60) on a corpus seeded from ../shared. Exits non-zero when the fuzzer finds a crash,
# a leak or a hang; the input that did it is written to build-fuzz/fuzz-crashes/.
# Usage: scripts/fuzz_loader.sh [SECONDS]   (JOBS=N: build jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
SHARED="$(cd .. && pwd)/shared"
BUILD=build-fuzz
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3  # Debian's python3-onnx (scripts/setup.sh)

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DGRAPHOPT_FUZZ=ON \
  -DGRAPHOPT_BUILD_TESTS=OFF -DGRAPHOPT_BUILD_BENCH=OFF -DGRAPHOPT_BUILD_SERVER=OFF >/dev/null
cmake --build "$BUILD" -j"${JOBS:-$(nproc)}" --target fuzz_model_loader

# Seeds are generated, never stored in the repository; the corpus grows across runs.
if [ ! -d "$BUILD/fuzz-seeds" ]; then
  "$PYTHON" fuzz/make_seed_corpus.py "$SHARED" "$BUILD/fuzz-seeds.tmp"
  mv "$BUILD/fuzz-seeds.tmp" "$BUILD/fuzz-seeds"
fi
mkdir -p "$BUILD/fuzz-corpus" "$BUILD/fuzz-crashes"
# -seed: fixed by default so that CI explores the same inputs each time (GRAPHOPT_FUZZ_SEED=0
# draws a new one, for long runs); -max_len: the largest seed is ~130 KB; -timeout: one input
# may take 10 s (a model with every check on); -rss_limit_mb: well under the machine's memory.
exec "$BUILD/fuzz/fuzz_model_loader" "$BUILD/fuzz-corpus" "$BUILD/fuzz-seeds" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -seed="${GRAPHOPT_FUZZ_SEED:-1}" \
  -artifact_prefix="$BUILD/fuzz-crashes/"
