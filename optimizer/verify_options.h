// How verification compares two models, and what it found. IR-free, so reports and the
// pipeline's options can carry them without the IR.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graphopt {

struct VerifyOptions {
  std::map<std::string, int64_t> dims;  // values for symbolic dims ("batch" -> 1)
  double atol = 1e-4;                   // float tolerances: |a-b| <= atol + rtol*|b|
  double rtol = 1e-3;
  uint64_t seed = 0;
  // int64 inputs are drawn from [0, range) (per input name; "*" for all others).
  std::map<std::string, int64_t> int_ranges;
  int64_t memory_cap_bytes = int64_t{8} << 30;
};

struct OutputComparison {
  std::string name;
  double max_abs_err = 0;
  double max_rel_err = 0;
  bool match = false;
  std::string detail;  // why it does not match (shape, dtype, NaN placement...)
  // Cosine similarity of the two outputs as vectors (1 when both are zero; float outputs only).
  double cosine = 1;
};

struct VerificationResult {
  bool passed = false;
  std::vector<OutputComparison> outputs;
  std::string message;
  // Wall time of one run of each model on the reference executor (< 0: it did not run).
  double original_ms = -1, optimized_ms = -1;
};

}  // namespace graphopt
