// What a model costs: parameters, weight bytes, FLOPs/MACs per operator family and the peak
// activation memory of a static memory plan. The struct is IR-free so the report can carry it;
// ComputeModelMetrics reads an ir::Model (forward-declared: this header pulls no IR in).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace graphopt {

namespace ir {
struct Model;
}

// Work of one operator family. MACs count multiply-accumulates of Conv/MatMul/attention; FLOPs
// are 2 per MAC there, and one per output element for elementwise and other compute operators.
struct OpCost {
  int64_t macs = 0;
  int64_t flops = 0;
  int64_t nodes = 0;
};

struct ModelMetrics {
  int64_t params = 0;        // elements of initializers and Constant nodes
  int64_t weight_bytes = 0;  // their bytes
  // "conv" (Conv, ConvTranspose, FusedConv, nchwc Conv), "matmul" (MatMul, Gemm, FusedMatMul,
  // FusedGemm), "attention" (com.microsoft Attention, MultiHeadAttention), "elementwise" (all
  // other compute operators; data movement such as Reshape or Transpose costs nothing).
  std::map<std::string, OpCost> families;
  int64_t macs = 0, flops = 0;
  // Nodes whose cost needs a shape that is unknown even at the sample dims: not counted above.
  int64_t unknown_cost_nodes = 0;
  // Static memory plan of the activations (node outputs): the arena of the greedy best-fit plan
  // against the naive sum of every activation, and how many activations of unknown size it
  // left out.
  int64_t peak_activation_bytes = 0;
  int64_t naive_activation_bytes = 0;
  int64_t in_place_reuses = 0;
  int64_t unplanned_values = 0;
  // The reference executor's time for one run at the sample dims (< 0: verification did not
  // run this model).
  double latency_ms = -1;
};

// Metrics of `model`'s top-level graph with shapes as inferred, symbolic dims evaluated at
// `dims` (the first assignment verification uses).
ModelMetrics ComputeModelMetrics(const ir::Model& model,
                                 const std::map<std::string, int64_t>& dims);

}  // namespace graphopt
