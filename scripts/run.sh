#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, then optimize a shared model end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
MODEL="${1:-../shared/models/resnet18.raw.onnx}"
OUT="${OUT:-build/resnet18.opt.onnx}"
./build/graphopt optimize "$MODEL" -o "$OUT" --level basic --dim batch=1 --report build/report.json
echo "optimized model: $OUT; report: build/report.json"
