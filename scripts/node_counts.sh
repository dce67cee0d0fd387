#!/usr/bin/env bash
# Prints, for every shared model (../shared/models/*.onnx) and every level and target, the node
# count and op counts of the optimized model, one line each, so two builds can be diffed:
#   scripts/node_counts.sh > before.txt; (change, rebuild); scripts/node_counts.sh | diff before.txt -
# GRAPHOPT=path/to/graphopt overrides the binary (default build/graphopt).
set -euo pipefail
cd "$(dirname "$0")/.."
GRAPHOPT="${GRAPHOPT:-build/graphopt}"
MODELS="${MODELS:-../shared/models}"
LEVELS="${LEVELS:-basic extended layout all}"
TARGETS="${TARGETS:-generic cpu cuda}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for model in "$MODELS"/*.onnx; do
  name="$(basename "$model")"
  for level in $LEVELS; do
    for target in $TARGETS; do
      if ! "$GRAPHOPT" optimize "$model" -o "$tmp/out.onnx" --level "$level" --target "$target" \
           --no-verify --quiet --report "$tmp/report.json" 2>"$tmp/err"; then
        echo "$name $level $target ERROR $(head -c 200 "$tmp/err" | tr '\n' ' ')"
        continue
      fi
      jq -r --arg m "$name" --arg l "$level" --arg t "$target" \
        '"\($m) \($l) \($t) nodes=\(.model.nodes_after) ops=\(.model.ops_after | to_entries | map("\(.key):\(.value)") | join(","))"' \
        "$tmp/report.json"
    done
  done
done
