// Test helpers for the com.microsoft contrib kernels: building a contrib node next to the
// standard-op composition it replaces, and running one model to get its outputs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "support/test_support.h"

namespace graphopt::testing {

inline constexpr const char* kMs = "com.microsoft";

// A ModelBuilder whose model also imports com.microsoft version 1.
inline ModelBuilder ContribBuilder(int64_t opset = 17) {
  ModelBuilder b(opset);
  b.model().opset_imports.push_back({kMs, 1});
  return b;
}

// Adds a node with `outputs` outputs (all named) and returns it.
inline ir::Node* AddNode(ModelBuilder& b, const std::string& op,
                         const std::vector<ir::Value*>& inputs, size_t outputs = 1,
                         const std::string& domain = kMs) {
  return b.graph().AddNode(op, inputs, outputs, op, domain);
}

// Runs `model` on the reference executor with `inputs` (graph inputs without initializers);
// fails the current test and returns {} when the run fails.
std::vector<Tensor> RunModel(const ir::Model& model, const std::map<std::string, Tensor>& inputs);

// Status message of running `model` on `inputs`; empty when it succeeds.
std::string RunError(const ir::Model& model, const std::map<std::string, Tensor>& inputs);

// Max |a - b| over two float tensors of one shape; +inf when shapes or types differ.
double MaxAbsDiff(const Tensor& a, const Tensor& b);

}  // namespace graphopt::testing
