// Timing of the compute-heavy reference kernels: a ResNet-style 3x3 Conv (64->64, 56x56), its
// depthwise counterpart, and a 512x512 MatMul, each run through the kernel registry.
#include <benchmark/benchmark.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "optimizer/ir/graph.h"

namespace graphopt {
namespace {

Tensor Random(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(NumElements(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::FromVector<float>(DataType::kFloat, shape, v);
}

// One node of `op` over `inputs`, run `state` times through its registered kernel.
void RunKernelLoop(benchmark::State& state, const std::string& op, int64_t opset,
                   const std::vector<Tensor>& inputs, const std::function<void(ir::Node&)>& attrs,
                   double flops) {
  const auto* def = reference::KernelRegistry::Get().Find("", op, opset);
  if (!def) {
    state.SkipWithError(("no kernel for " + op).c_str());
    return;
  }
  ir::Graph graph;
  std::vector<ir::Value*> values;
  std::vector<const Tensor*> pointers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    values.push_back(graph.AddInput(
        "in" + std::to_string(i), ir::ValueType::FromShape(inputs[i].dtype(), inputs[i].shape())));
    pointers.push_back(&inputs[i]);
  }
  ir::Node* node = graph.AddNode(op, values, 1, op);
  if (attrs) attrs(*node);
  for (auto _ : state) {
    reference::KernelContext ctx(*node, opset, pointers, nullptr);
    Status st = def->fn(ctx);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(ctx.outputs()[0].raw());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Conv3x3_64x64_56(benchmark::State& state) {
  const Tensor x = Random({1, 64, 56, 56}, 1), w = Random({64, 64, 3, 3}, 2), b = Random({64}, 3);
  RunKernelLoop(
      state, "Conv", 14, {x, w, b},
      [](ir::Node& n) {
        n.SetInts("pads", {1, 1, 1, 1});
      },
      2.0 * 64 * 64 * 9 * 56 * 56);
}
BENCHMARK(BM_Conv3x3_64x64_56)->Unit(benchmark::kMillisecond);

void BM_DepthwiseConv3x3_144_56(benchmark::State& state) {
  const Tensor x = Random({1, 144, 56, 56}, 4), w = Random({144, 1, 3, 3}, 5);
  RunKernelLoop(
      state, "Conv", 14, {x, w},
      [](ir::Node& n) {
        n.SetInts("pads", {1, 1, 1, 1});
        n.SetInt("group", 144);
      },
      2.0 * 144 * 9 * 56 * 56);
}
BENCHMARK(BM_DepthwiseConv3x3_144_56)->Unit(benchmark::kMillisecond);

void BM_MatMul512(benchmark::State& state) {
  const Tensor a = Random({512, 512}, 6), b = Random({512, 512}, 7);
  RunKernelLoop(state, "MatMul", 13, {a, b}, {}, 2.0 * 512 * 512 * 512);
}
BENCHMARK(BM_MatMul512)->Unit(benchmark::kMillisecond);

void BM_MaxPool3x3s2_64_112(benchmark::State& state) {
  const Tensor x = Random({1, 64, 112, 112}, 8);
  RunKernelLoop(
      state, "MaxPool", 14, {x},
      [](ir::Node& n) {
        n.SetInts("kernel_shape", {3, 3});
        n.SetInts("strides", {2, 2});
        n.SetInts("pads", {1, 1, 1, 1});
      },
      64.0 * 56 * 56 * 9);
}
BENCHMARK(BM_MaxPool3x3s2_64_112)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace graphopt

BENCHMARK_MAIN();
