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
  // Integer and bool inputs that hold one value everywhere (per input name), overriding
  // int_ranges: the values that take a chosen branch of an If.
  std::map<std::string, int64_t> int_values;
  int64_t memory_cap_bytes = int64_t{8} << 30;
};

// Whether verification ran both branches of an If: `input` set to `then_value` takes the then
// branch and to `else_value` the else branch. When they could not be derived (or the input was
// pinned), `both_branches` is false, `reason` says why, and the If is verified only on the
// branch the sample inputs take.
struct IfBranchCoverage {
  std::string node;
  std::string input;
  int64_t then_value = 0, else_value = 0;
  bool both_branches = false;
  std::string reason;
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
