// `graphopt verify A.onnx B.onnx`: runs both models on the same generated inputs and compares
// every output, with the samples `graphopt optimize` verifies with (two assignments of the free
// dims, each If decided by an input on both branches); exit 0 when they match, 1 when they
// differ, 2 on errors.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/bounded_run.h"
#include "cli/command.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/optimize_model.h"
#include "optimizer/util/finite_range.h"

namespace graphopt::cli {

namespace {

struct VerifyArgs {
  std::string a, b;
  std::vector<std::string> dims;
  double atol = 1e-4, rtol = 1e-3;
  uint64_t seed = 0;
  Bounds bounds;
};

int RunVerify(const VerifyArgs& args) {
  if (auto bounded = RunBounded(args.bounds, BoundedCommand::kVerify)) return *bounded;
  VerifyOptions options;
  std::string error;
  if (!ParseDims(args.dims, &options.dims, &error)) {
    std::cerr << "graphopt: " << error << "\n";
    return kExitError;
  }
  options.atol = args.atol;
  options.rtol = args.rtol;
  options.seed = args.seed;
  auto a = LoadModel(args.a);
  if (!a.ok()) {
    std::cerr << "graphopt: " << args.a << ": " << a.status().message() << "\n";
    return kExitError;
  }
  auto b = LoadModel(args.b);
  if (!b.ok()) {
    std::cerr << "graphopt: " << args.b << ": " << b.status().message() << "\n";
    return kExitError;
  }
  // Unnamed dims get the same fresh names in both (same inputs, same order) so one sample fits.
  ir::NameUnknownInputDims(**a);
  ir::NameUnknownInputDims(**b);
  PipelineOptions pipeline;
  pipeline.verify_options = options;
  const Report report = VerifyModels(**a, **b, pipeline);
  if (report.verification_status == VerificationStatus::kSkipped) {
    std::cerr << "graphopt: " << report.verification_message << "\n";
    return kExitError;
  }
  for (const OutputComparison& c : report.verification_outputs) {
    std::cout << (c.match ? "match    " : "MISMATCH ") << c.name
              << "  max_abs_err=" << c.max_abs_err << " max_rel_err=" << c.max_rel_err;
    if (!c.detail.empty()) std::cout << "  (" << c.detail << ")";
    std::cout << "\n";
  }
  for (const std::string& w : report.warnings) std::cout << "warning: " << w << "\n";
  std::cout << report.verification_message << "\n";
  return report.verification_status == VerificationStatus::kPassed ? kExitOk : kExitMismatch;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "check that two models compute the same outputs");
  cmd->add_option("a", args->a, "reference model (.onnx)")->required();
  cmd->add_option("b", args->b, "model to check against it (.onnx)")->required();
  cmd->add_option("--dim", args->dims, "fix a symbolic dim: NAME=VALUE (repeatable)");
  cmd->add_option("--atol", args->atol, "absolute tolerance (default 1e-4)")
      ->check(FiniteRange(0));
  cmd->add_option("--rtol", args->rtol, "relative tolerance (default 1e-3)")
      ->check(FiniteRange(0));
  cmd->add_option("--seed", args->seed, "seed of generated inputs (default 0)");
  AddBoundFlags(cmd, &args->bounds);
  return [args] { return RunVerify(*args); };
};

GRAPHOPT_REGISTER_COMMAND("verify", 40, Setup);

}  // namespace

}  // namespace graphopt::cli
