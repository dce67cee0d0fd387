#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, start graphopt-server on its embedded defaults
# (gRPC 127.0.0.1:50051, metrics 127.0.0.1:9090, data in ./graphopt-data), optimize a shared
# model through it with the CLI client, print the report, and stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  ./scripts/setup.sh
  ./scripts/build.sh
fi
MODEL="${1:-../shared/models/resnet18.raw.onnx}"
OUT="${OUT:-$BUILD/$(basename "${MODEL%.onnx}").opt.onnx}"

"$BUILD/server/graphopt-server" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$BUILD/graphopt" jobs --server 127.0.0.1:50051 >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { echo "graphopt-server did not start" >&2; exit 1; }
  sleep 0.2
done

"$BUILD/graphopt" submit "$MODEL" --server 127.0.0.1:50051 --level basic --dim batch=1 \
  -o "$OUT" --report "$BUILD/report.json"
echo "optimized model: $OUT; report: $BUILD/report.json; metrics: http://127.0.0.1:9090/metrics"
/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); m=r['model']; \
print('nodes', m['nodes_before'], '->', m['nodes_after'], '| verification', r['verification']['status'])" \
  "$BUILD/report.json"
