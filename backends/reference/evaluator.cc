// The reference executor as the optimizer's Evaluator: constant folding runs one node on the
// kernels; verification runs both models on the same generated inputs and compares outputs.
#include "optimizer/evaluator.h"

#include <chrono>
#include <sstream>

#include "backends/reference/executor.h"
#include "backends/reference/inputs.h"
#include "backends/reference/tensor_compare.h"

namespace graphopt {

namespace {

class ReferenceEvaluator : public Evaluator {
 public:
  bool CanEvaluate(const ir::Node& node, int64_t opset) const override {
    const std::string domain = node.domain() == "ai.onnx" ? std::string() : node.domain();
    return reference::KernelRegistry::Get().Find(domain, node.op_type(), opset) != nullptr;
  }

  Result<std::vector<Tensor>> EvaluateNode(const ir::Node& node,
                                           const std::vector<const Tensor*>& inputs,
                                           int64_t opset) override {
    return reference::RunSingleNode(node, inputs, opset);
  }

  Result<VerificationResult> Verify(const ir::Model& original, const ir::Model& optimized,
                                    const VerifyOptions& options) override {
    if (!original.graph || !optimized.graph) return InvalidArgument("a model has no graph");
    reference::InputOptions input_options;
    input_options.dims = options.dims;
    input_options.seed = options.seed;
    input_options.int_ranges = options.int_ranges;
    input_options.int_values = options.int_values;
    reference::RunOptions run_options;
    run_options.dims = options.dims;
    run_options.memory_cap_bytes = options.memory_cap_bytes;
    reference::Executor reference_run(original, run_options);
    // Refuse absurd declared sizes before generating inputs of those sizes.
    RETURN_IF_ERROR(reference_run.CheckDeclaredMemory());
    ASSIGN_OR_RETURN(auto inputs, reference::GenerateInputs(*original.graph, input_options));

    using Clock = std::chrono::steady_clock;
    auto ms_since = [](Clock::time_point t) {
      return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    };
    auto start = Clock::now();
    auto expected = reference_run.Run(inputs);
    const double original_ms = ms_since(start);
    if (!expected.ok()) {
      return Status(expected.status().code(),
                    "the original model does not run: " + expected.status().message());
    }

    // The optimized model may have dropped inputs it no longer reads.
    std::map<std::string, Tensor> optimized_inputs;
    for (const ir::Value* v : optimized.graph->inputs()) {
      auto it = inputs.find(v->name());
      if (it != inputs.end()) {
        optimized_inputs.emplace(it->first, it->second);
      } else if (!v->has_initializer()) {
        ASSIGN_OR_RETURN(Tensor t, reference::GenerateInput(*v, input_options));
        optimized_inputs.emplace(v->name(), std::move(t));
      }
    }
    VerificationResult result;
    result.original_ms = original_ms;
    reference::Executor optimized_run(optimized, run_options);
    start = Clock::now();
    auto actual = optimized_run.Run(optimized_inputs);
    result.optimized_ms = ms_since(start);
    if (!actual.ok()) {
      result.message = "the optimized model does not run: " + actual.status().ToString();
      return result;
    }

    const auto& original_outputs = original.graph->outputs();
    const auto& optimized_outputs = optimized.graph->outputs();
    if (original_outputs.size() != optimized_outputs.size()) {
      result.message = "the models have " + std::to_string(original_outputs.size()) + " and " +
                       std::to_string(optimized_outputs.size()) + " outputs";
      return result;
    }
    bool all_match = true;
    for (size_t i = 0; i < original_outputs.size(); ++i) {
      const std::string name = original_outputs[i] ? original_outputs[i]->name() : "";
      // Match by name; fall back to position when a rewrite renamed an output.
      size_t j = i;
      for (size_t k = 0; k < optimized_outputs.size(); ++k) {
        if (optimized_outputs[k] && optimized_outputs[k]->name() == name) j = k;
      }
      OutputComparison c =
          reference::CompareTensors(name, (*actual)[j], (*expected)[i], options.atol, options.rtol);
      all_match = all_match && c.match;
      result.outputs.push_back(std::move(c));
    }
    result.passed = all_match;
    std::ostringstream msg;
    msg << (all_match ? "all " : "not all ") << result.outputs.size() << " outputs match (atol "
        << options.atol << ", rtol " << options.rtol << ")";
    result.message = msg.str();
    return result;
  }
};

}  // namespace

std::unique_ptr<Evaluator> MakeReferenceEvaluator() {
  return std::make_unique<ReferenceEvaluator>();
}

}  // namespace graphopt
