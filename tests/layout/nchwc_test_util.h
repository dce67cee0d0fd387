// Helpers for the NCHWc tests: models importing com.microsoft.nchwc with a recorded block size,
// running a model on the reference executor (ONNX Runtime parity: support/ort_parity.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "support/ort_parity.h"
#include "support/test_support.h"

namespace graphopt::testing {

inline constexpr const char* kNchwc = "com.microsoft.nchwc";

// The block size ONNX Runtime's MLAS picks on this CPU: 16 with AVX-512F, else 8.
int64_t HostNchwcBlockSize();

// A ModelBuilder importing com.microsoft.nchwc 1, with `block` recorded in its metadata.
ModelBuilder NchwcBuilder(int64_t block, int64_t opset = 13);

// Adds a com.microsoft.nchwc node and returns it (one output).
ir::Node* AddNchwc(ModelBuilder& b, const std::string& op, const std::vector<ir::Value*>& inputs);

// Runs `model` on the reference executor; fails the test and returns {} on error.
std::vector<Tensor> RunReference(const ir::Model& model, const std::map<std::string, Tensor>& inputs);

}  // namespace graphopt::testing
