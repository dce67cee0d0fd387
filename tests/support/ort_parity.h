// Runs a model on the reference executor and in ONNX Runtime (CPU, optimizations off, one
// thread, through node and the onnxruntime-node package that ../shared/tools/ortbench installs)
// on the same inputs, and compares every output. Used by the contrib-kernel and NCHWc tests.
#pragma once

#include <map>
#include <string>

#include "optimizer/ir/graph.h"
#include "optimizer/ir/tensor.h"

namespace graphopt::testing {

// Every output within `tolerance` on |a-b|/(1+|b|), with equal shapes. Skips the test when node
// or ONNX Runtime is missing. Gives the graph outputs the types of the reference run (ONNX
// Runtime wants typed outputs). Integer outputs (quantized results) are compared on |a-b| <=
// `integer_steps` instead: ONNX Runtime's fixed-point requantization may round a value one step
// away from the float formula, and at most 1% of the elements may differ at all.
void ExpectOrtParity(ir::Model& model, const std::map<std::string, Tensor>& inputs,
                     double tolerance = 1e-4, int64_t integer_steps = 0);

}  // namespace graphopt::testing
