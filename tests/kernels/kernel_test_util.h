// Runs one registered reference kernel on given tensors without the executor, and reads results
// back as vectors, so kernel tests state inputs and hand-computed outputs side by side.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "optimizer/ir/graph.h"
#include "support/test_support.h"

namespace graphopt::testing {

struct KernelRun {
  Status status;
  std::vector<Tensor> outputs;
};

// Builds a one-node graph for `op` at `opset` (inputs that are undefined Tensors are omitted),
// lets `attrs` set attributes, finds the kernel in the registry and runs it.
inline KernelRun RunOp(const std::string& op, int64_t opset, const std::vector<Tensor>& inputs,
                       const std::function<void(ir::Node&)>& attrs = {}, size_t num_outputs = 1) {
  KernelRun run;
  const auto* def = reference::KernelRegistry::Get().Find("", op, opset);
  if (!def) {
    run.status = NotFound("no kernel for " + op + " at opset " + std::to_string(opset));
    return run;
  }
  ir::Graph graph;
  std::vector<ir::Value*> values;
  std::vector<const Tensor*> pointers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      values.push_back(nullptr);
      pointers.push_back(nullptr);
      continue;
    }
    values.push_back(graph.AddInput(
        "in" + std::to_string(i), ir::ValueType::FromShape(inputs[i].dtype(), inputs[i].shape())));
    pointers.push_back(&inputs[i]);
  }
  ir::Node* node = graph.AddNode(op, values, num_outputs, op);
  if (attrs) attrs(*node);
  reference::KernelContext ctx(*node, opset, pointers, nullptr);
  run.status = def->fn(ctx);
  run.outputs = ctx.outputs();
  return run;
}

template <typename T>
Tensor Make(DataType type, const Shape& shape, const std::vector<T>& values) {
  return Tensor::FromVector<T>(type, shape, values);
}
inline Tensor F32(const Shape& shape, const std::vector<float>& v) {
  return Make<float>(DataType::kFloat, shape, v);
}
inline Tensor I64(const Shape& shape, const std::vector<int64_t>& v) {
  return Make<int64_t>(DataType::kInt64, shape, v);
}
inline Tensor I32(const Shape& shape, const std::vector<int32_t>& v) {
  return Make<int32_t>(DataType::kInt32, shape, v);
}
inline Tensor Bools(const Shape& shape, const std::vector<uint8_t>& v) {
  return Make<uint8_t>(DataType::kBool, shape, v);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.size());
}

// Every element converted to double, whatever the dtype (float16 included).
inline std::vector<double> Doubles(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.size(); ++i) v.push_back(t.GetDouble(i));
  return v;
}

inline void ExpectNear(const Tensor& t, const Shape& shape, const std::vector<double>& expected,
                       double tol = 1e-5) {
  ASSERT_EQ(t.shape(), shape);
  const auto got = Doubles(t);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
  }
}

}  // namespace graphopt::testing
