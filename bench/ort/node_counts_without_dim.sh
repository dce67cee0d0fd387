#!/bin/bash
# Node counts with every dim left symbolic (no --dim): graphopt `basic` (generic) and `extended`
# (cpu) against ONNX Runtime's `basic` and `extended` (ortbench leaves dims symbolic when given
# none), with the Attention and MultiHeadAttention nodes of the cpu artifact and both
# verification statuses. ORTBENCH_ARGS adds ortbench options (a model whose If needs
# `--int sr=16000` to run in ONNX Runtime).
# Usage: bench/ort/node_counts_without_dim.sh MODEL.onnx...   (prints Markdown table rows)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
graphopt=${GRAPHOPT:-$here/build/graphopt}
ortbench=${ORTBENCH:-$here/../shared/tools/ortbench/ortbench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | ORT basic | graphopt basic | ORT extended | graphopt extended cpu | Attention | verification |"
echo "|---|---|---|---|---|---|---|"
for model in "$@"; do
  name=$(basename "$model" .onnx)
  rm -f "$work"/*.json "$work"/*.err  # a failed run must not report the previous model's figures
  "$graphopt" optimize "$model" -o "$work/basic.onnx" --level basic -q --report "$work/basic.json" 2>"$work/basic.err" || true
  "$graphopt" optimize "$model" -o "$work/ext.onnx" --level extended --target cpu -q --report "$work/ext.json" 2>"$work/ext.err" || true
  "$ortbench" "$model" --levels basic,extended --runs 1 ${ORTBENCH_ARGS:-} --json 2>/dev/null | grep '{"model"' >"$work/ort.json" || true
  /usr/bin/python3 - "$name" "$work" <<'PY'
import json, sys
name, work = sys.argv[1], sys.argv[2]
def report(kind):
    try:
        r = json.load(open(f"{work}/{kind}.json"))
    except Exception:
        return "error: " + open(f"{work}/{kind}.err").read().strip()[:120], "", 0
    return r["model"]["nodes_after"], r["verification"]["status"], sum(r["model"]["ops_after"].get("com.microsoft." + op, 0) for op in ("Attention", "MultiHeadAttention"))
try:
    ort = {row["level"]: row["nodes"] for row in json.load(open(f"{work}/ort.json"))["rows"]}
except Exception:
    ort = {}
basic, ext = report("basic"), report("ext")
print(f"| {name} | {ort.get('basic', '?')} | {basic[0]} | {ort.get('extended', '?')} | {ext[0]} | {ext[2]} | {basic[1]} / {ext[1]} |")
PY
done
