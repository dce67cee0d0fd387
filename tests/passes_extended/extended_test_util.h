// Helpers of the extended-level fusion tests: run one pass for a target profile, count ops of
// any domain, and check outputs on the reference executor (including chosen integer ranges).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "optimizer/evaluator.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/pass_manager.h"
#include "optimizer/target.h"
#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt::testing {

using FusionRun = PassRun;

// RunSinglePass with the `cpu` profile by default: fusions emit what a runtime allows.
inline FusionRun RunFusion(ir::Model& model, const std::string& pass,
                           const std::string& target = "cpu") {
  return RunSinglePass(model, pass, target);
}

// Op count by "domain.op" ("com.microsoft.Gelu") or plain name for the default domain.
inline int64_t CountFused(const ir::Model& m, const std::string& key) {
  int64_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) {
    n += TargetProfile::Key(node->domain(), node->op_type()) == key;
  }
  return n;
}

// Like CompareOutputs, with integer inputs drawn from [0, range) per input name.
inline std::string CompareWithIntRanges(const ir::Model& a, const ir::Model& b,
                                        const std::map<std::string, int64_t>& int_ranges) {
  auto evaluator = MakeReferenceEvaluator();
  VerifyOptions options;
  options.int_ranges = int_ranges;
  auto result = evaluator->Verify(a, b, options);
  if (!result.ok()) return "verification could not run: " + result.status().ToString();
  if (result->passed) return "";
  std::string why = result->message;
  for (const auto& o : result->outputs) {
    if (!o.match)
      why += " [" + o.name + ": abs " + std::to_string(o.max_abs_err) + " " + o.detail + "]";
  }
  return why.empty() ? "outputs differ" : why;
}

inline ir::Value* Scalar(ModelBuilder& b, const std::string& name, float v) {
  return b.graph().NewInitializer(name, Tensor::ScalarFloat(v));
}

}  // namespace graphopt::testing
