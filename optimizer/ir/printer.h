// The IR in ONNX's text format, for `--print-ir-after` and debugging.
#pragma once

#include <string>

#include "optimizer/ir/graph.h"

namespace graphopt::ir {

// The model's top-level graph (bodies included) in ONNX text format; initializers over 16
// elements are shown as external references so weights do not flood the output.
std::string ModelText(Model& model);

}  // namespace graphopt::ir
