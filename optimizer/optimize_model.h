// The in-memory core of OptimizeFile, for tools and tests that hold an ir::Model already.
#pragma once

#include "optimizer/ir/graph.h"
#include "optimizer/pipeline.h"

namespace graphopt {

// Rewrites `model` (the original is `reference`, used for verification; it may be null to skip
// verification). When verification fails, bisection re-optimizes copies of `reference`, so it
// must be the model as passed in (ir::CloneModel before the call).
Result<Report> OptimizeModel(ir::Model& model, const ir::Model* reference,
                             const PipelineOptions& options);

// The verification OptimizeModel runs, on two models given: every sample of dims and of the
// integer inputs that take each If branch. Fills the report's verification fields only.
Report VerifyModels(const ir::Model& reference, const ir::Model& optimized,
                    const PipelineOptions& options);

}  // namespace graphopt
