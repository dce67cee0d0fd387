// --precision fp16: float32 weights and computation become float16, except operators whose
// float16 results lose too much (Softmax, reductions, powers and roots) or that cannot change
// type (control flow, random generators); Casts only where the two precisions meet and at the
// graph's inputs and outputs, which stay float32. Not an equivalence rewrite: the pipeline
// measures its accuracy.
#pragma once

#include "optimizer/ir/graph.h"
#include "optimizer/pass/pass_stats.h"

namespace graphopt {

ConversionStats ConvertFloat16(ir::Model& model);

}  // namespace graphopt
