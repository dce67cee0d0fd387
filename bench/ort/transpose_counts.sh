#!/bin/bash
# What the transpose optimizer (push_transposes, merge_transposes) removes on real models: node
# and Transpose counts of graphopt's `basic` (generic) and `all` (cpu) artifacts with the two
# passes disabled and enabled, dims left symbolic, with the verification status of each.
# Usage: bench/ort/transpose_counts.sh MODEL.onnx...   (prints Markdown table rows)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
graphopt=${GRAPHOPT:-$here/build/graphopt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | Transpose in model | basic without -> with: nodes, Transpose | all cpu without -> with: nodes, Transpose | verification (4 runs) |"
echo "|---|---|---|---|---|"
for model in "$@"; do
  name=$(basename "$model" .onnx)
  for level in basic all; do
    target=$([ $level = basic ] && echo generic || echo cpu)
    "$graphopt" optimize "$model" -o "$work/$level.off.onnx" --level $level --target $target -q \
      --disable push_transposes,merge_transposes --report "$work/$level.off.json" 2>"$work/$level.off.err" || true
    "$graphopt" optimize "$model" -o "$work/$level.on.onnx" --level $level --target $target -q \
      --report "$work/$level.on.json" 2>"$work/$level.on.err" || true
  done
  /usr/bin/python3 - "$name" "$work" <<'PY'
import json, sys
name, work = sys.argv[1], sys.argv[2]
def load(tag):
    try:
        return json.load(open(f"{work}/{tag}.json"))
    except Exception:
        return None
cells, statuses = [], []
for level in ("basic", "all"):
    off, on = load(f"{level}.off"), load(f"{level}.on")
    if not off or not on:
        cells.append("error: " + open(f"{work}/{level}.on.err").read().strip()[:100])
        continue
    t = lambda r: r["model"]["ops_after"].get("Transpose", 0)
    cells.append(f'{off["model"]["nodes_after"]} -> {on["model"]["nodes_after"]}, {t(off)} -> {t(on)}')
    statuses += [off["verification"]["status"], on["verification"]["status"]]
before = (load("basic.on") or {}).get("model", {}).get("ops_before", {}).get("Transpose", 0)
print(f"| {name} | {before} | {cells[0]} | {cells[1]} | {', '.join(statuses)} |")
PY
done
