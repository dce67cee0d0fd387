// Runs ONNX's shape inference over the IR and records the inferred types on values.
#pragma once

#include "optimizer/ir/graph.h"

namespace graphopt::ir {

// Best effort; then InferSymbolicShapes fills what ONNX leaves unknown with symbolic dims. graphopt's fused operators are inferred too (fused_op_schemas.h); outputs of other
// operators nothing can infer keep the types they had, and what follows them is inferred from
// those. Fails only on malformed models.
Status InferShapes(Model& model);

// Full check: onnx::checker plus strict shape inference, as `onnx.checker.check_model(full_check=True)`,
// where ONNX knows the operators, and graphopt's own limits (CheckOnnxModel, util/onnx_check.h).
Status CheckModel(Model& model);

// Replaces symbolic dims named in `dims` by their values on graph inputs and outputs.
void FixDims(Model& model, const std::map<std::string, int64_t>& dims);

// A deep copy sharing tensor bytes (copy-on-write), e.g. to keep the original for verification.
std::unique_ptr<Model> CloneModel(const Model& model);

}  // namespace graphopt::ir
