// Random valid ONNX graphs for `graphopt fuzz`: operators with their shape and type rules, built
// from motifs that invite folding and every fusion graphopt has. Reproducible from a seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt::fuzz {

struct GeneratorOptions {
  int max_motifs = 8;           // motifs per graph (each adds one to a dozen nodes)
  double symbolic_share = 0.3;  // share of graphs whose inputs have a symbolic `batch` axis
};

struct GeneratedGraph {
  std::unique_ptr<ir::Model> model;
  std::vector<std::string> motifs;  // what was built, in order ("conv_bn_relu", ...)
  bool symbolic = false;
};

// The same seed gives the same graph. The graph is checked with ONNX's checker (full shape
// inference); the rare candidate it refuses is replaced by the next one of the seed's stream.
GeneratedGraph GenerateGraph(uint64_t seed, const GeneratorOptions& options = {});

}  // namespace graphopt::fuzz
