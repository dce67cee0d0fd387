#!/usr/bin/env bash
# Fails when a file includes a header of a layer it must not depend on (docs/DESIGN.md, Layers).
# The CMake library targets enforce the same boundaries at link time; this catches includes,
# which compile through the shared include root. Run by ctest (test "layering").
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

# forbid FOLDER PATTERN WHY: no file under FOLDER may include a header matching PATTERN.
forbid() {
  local folder="$1" pattern="$2" why="$3"
  local hits
  hits="$(grep -rnE "^#include \"($pattern)" "$folder" --include='*.h' --include='*.cc' || true)"
  if [ -n "$hits" ]; then
    echo "layering: $folder must not include $pattern ($why):"
    echo "$hits"
    status=1
  fi
}

forbid optimizer/ir 'optimizer/pass/|optimizer/passes/|optimizer/pipeline|optimizer/report|optimizer/target|backends/|server/' \
  "the IR is the bottom layer"
forbid optimizer/util 'optimizer/(ir|pass|passes|io)/|optimizer/pipeline|backends/|server/' \
  "utilities depend on nothing"
forbid optimizer/io 'optimizer/pass/|optimizer/passes/|optimizer/pipeline|backends/|server/' \
  "model I/O sits on the IR only"
forbid backends/reference 'optimizer/pass/|optimizer/passes/|optimizer/pipeline|optimizer/report|server/' \
  "the reference executor sees IR tensors and nodes only"
forbid optimizer/analysis 'optimizer/pass/|optimizer/passes/|optimizer/pipeline|optimizer/report|optimizer/target|backends/|server/' \
  "model metrics and memory plans read the IR only"
forbid optimizer/pass 'backends/|optimizer/pipeline|optimizer/report|server/' \
  "passes reach the executor through the Evaluator interface only"
forbid optimizer/passes 'backends/|optimizer/pipeline|optimizer/report|server/' \
  "passes reach the executor through the Evaluator interface only"
forbid server 'optimizer/ir/|optimizer/pass/pass\.h|optimizer/pass/rule|optimizer/pass/rewriter|optimizer/pass/pattern|optimizer/passes/|optimizer/io/|optimizer/evaluator\.h|optimizer/optimize_model\.h|backends/reference/' \
  "the service calls optimizer/pipeline.h and never sees IR types"
forbid server/jobs 'server/service/' "jobs sit below the gRPC service"
forbid server/store 'server/service/|server/jobs/' "stores sit below jobs and the service"

# The pipeline's public header must not pull the IR in, directly or through what it includes.
check_closure() {
  local header="$1" seen="" queue="$1" h inc
  while [ -n "$queue" ]; do
    h="${queue%% *}"
    [ "$queue" = "$h" ] && queue="" || queue="${queue#* }"
    case " $seen " in *" $h "*) continue ;; esac
    seen="$seen $h"
    for inc in $(grep -oE '^#include "[^"]+"' "$h" | sed -E 's/#include "(.*)"/\1/'); do
      case "$inc" in
        optimizer/ir/*|optimizer/io/model_io.h|optimizer/evaluator.h|optimizer/pass/pass.h)
          echo "layering: $header reaches $inc through $h: it must expose no IR types"
          status=1 ;;
        optimizer/*|server/*) [ -f "$inc" ] && queue="${queue:+$queue }$inc" ;;
      esac
    done
  done
}
check_closure optimizer/pipeline.h

[ "$status" = 0 ] && echo "layering: ok"
exit "$status"
