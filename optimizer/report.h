// The record of one optimization: what changed, why it is still correct, and how long it took.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/pass/pass_stats.h"
#include "optimizer/verify_options.h"

namespace graphopt {

struct Report {
  std::string level;
  std::string target;
  // The ISA the artifact is laid out for ("avx512"...; empty when the target has none), and
  // whether it was this machine's (target `cpu`) rather than named by the profile.
  std::string isa;
  bool isa_from_host = false;
  std::string graphopt_version;
  int64_t nodes_before = 0, nodes_after = 0;
  std::map<std::string, int64_t> ops_before, ops_after;
  int64_t bytes_before = 0, bytes_after = 0;
  std::vector<PassStats> passes;
  std::string verification_status = "skipped";  // passed | failed | skipped
  std::string verification_message;
  // What went wrong without failing the run (shape inference refused the model...).
  std::vector<std::string> warnings;
  std::vector<OutputComparison> verification_outputs;
  double atol = 0, rtol = 0;
  // The symbolic-dim values each verification run used ("batch=1,seq=16").
  std::vector<std::map<std::string, int64_t>> verification_shapes;
  std::vector<std::string> dims_symbolic;         // input dims the artifact leaves symbolic
  std::map<std::string, int64_t> dims_fixed;      // dims fixed by --dim
  double load_ms = 0, optimize_ms = 0, verify_ms = 0, save_ms = 0;

  std::string ToJson(int indent = 2) const;
  // onnx-simplifier style table: op type, count before, count after, totals, size and time.
  std::string ToTable() const;
};

}  // namespace graphopt
