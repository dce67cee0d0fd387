#!/bin/bash
# Issue 13's two comparisons for each model, timed run by run in turn (interleaved_latency.js,
# one thread) so that load from other processes falls on every graph alike:
#   blocked  graphopt `--level all --target cpu` artifact with ONNX Runtime's optimizer disabled,
#            against the original at ONNX Runtime `all`;
#   runtime  graphopt's `extended` and `all` cpu artifacts loaded at ONNX Runtime `all`, against
#            the original at `all`.
# Prints one Markdown row per model: the median over runs of the per-run ratio to the original at
# `all` (below 1: the artifact is faster), and a control: the original at `all` in a second
# session against the first, which shows how far two identical graphs drift apart here. NO_DIM=1 optimizes without --dim (the artifacts keep
# their symbolic axes); DIMS sets the sizes ONNX Runtime runs at (default batch=1,seq=64, and
# height/width of OCR-like models), RUNS the runs per graph (default 30), REPEATS the repetitions.
# Usage: bench/ort/layout_ratios.sh MODEL.onnx...
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
graphopt=${GRAPHOPT:-$here/build/graphopt}
export NODE_PATH=${NODE_PATH:-$HOME/.cache/graphopt-ort/node_modules}
export DIMS=${DIMS:-batch=1,seq=64,height=640,width=640}
export RUNS=${RUNS:-30}
repeats=${REPEATS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| model | blocked: all artifact (ORT disabled) / original (ORT all) | runtime: extended artifact at all / original at all | runtime: all artifact at all / original at all | control: original / original, both at all |"
echo "|---|---|---|---|---|"
for model in "$@"; do
  name=$(basename "$model" .onnx)
  dims=()
  if [ -z "${NO_DIM:-}" ]; then
    # Only batch and seq are fixed (issue 13's --dim batch=1), and only where the model has them.
    names=$(/usr/bin/python3 -c 'import onnx, sys
g = onnx.load(sys.argv[1], load_external_data=False).graph
print(" ".join({d.dim_param for i in g.input for d in i.type.tensor_type.shape.dim}))' "$model")
    for d in batch seq; do
      if [[ " $names " == *" $d "* ]]; then
        dims+=(--dim "$d=$(echo "$DIMS" | tr ',' '\n' | sed -n "s/^$d=//p")")
      fi
    done
  fi
  "$graphopt" optimize "$model" -o "$work/all.onnx" --level all --target cpu -q "${dims[@]}"
  "$graphopt" optimize "$model" -o "$work/ext.onnx" --level extended --target cpu -q "${dims[@]}"
  row="| $name"
  declare -a blocked=() rt_ext=() rt_all=() control=()
  for ((r = 0; r < repeats; r++)); do
    out=$(node "$here/bench/ort/interleaved_latency.js" "$model:all" "$work/all.onnx:disabled" \
          "$work/ext.onnx:all" "$work/all.onnx:all" "$model:all")
    ratios=($(echo "$out" | sed -n 's/.*ratio p50 \([0-9.]*\).*/\1/p'))
    blocked+=("${ratios[1]}"); rt_ext+=("${ratios[2]}"); rt_all+=("${ratios[3]}")
    control+=("${ratios[4]}")
  done
  echo "$row | ${blocked[*]} | ${rt_ext[*]} | ${rt_all[*]} | ${control[*]} |"
done
