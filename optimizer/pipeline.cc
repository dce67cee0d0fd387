#include "optimizer/pipeline.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "optimizer/ir/opset_conversion.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/target.h"

namespace graphopt {

Status ValidatePipelineOptions(const PipelineOptions& options) {
  if (!TargetRegistry::Get().Find(options.target).ok()) {
    std::string known;
    for (const TargetProfile* p : TargetRegistry::Get().All()) {
      known += (known.empty() ? "" : ", ") + p->name;
    }
    return InvalidArgument("unknown target '" + options.target + "' (known: " + known + ")");
  }
  for (const auto* names : {&options.enable, &options.disable}) {
    for (const auto& name : *names) {
      if (PassRegistry::Get().Find(name) == nullptr) {
        return InvalidArgument("unknown pass '" + name + "' (graphopt passes lists them)");
      }
    }
  }
  for (const auto& name : options.enable) {
    if (options.disable.count(name)) {
      return InvalidArgument("pass '" + name + "' is both enabled and disabled");
    }
  }
  for (const auto& [name, value] : options.dims) {
    if (value <= 0) return InvalidArgument("dim " + name + " must be positive");
  }
  for (const auto& [what, value] :
       {std::pair{"atol", options.verify_options.atol}, {"rtol", options.verify_options.rtol}}) {
    if (!std::isfinite(value) || value < 0) {
      return InvalidArgument(std::string(what) + " must be a finite number >= 0");
    }
  }
  return Status::Ok();
}

const char* GraphoptVersion() { return GRAPHOPT_VERSION; }

namespace {

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int64_t FileBytes(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  int64_t total = ec ? 0 : static_cast<int64_t>(size);
  auto data = std::filesystem::file_size(path + ".data", ec);
  if (!ec) total += static_cast<int64_t>(data);
  return total;
}

void Progress(const PipelineOptions& o, const std::string& stage) {
  if (o.on_progress) o.on_progress(ProgressEvent{stage, 0, 0, ""});
}

}  // namespace

Result<Report> OptimizeModel(ir::Model& model, const ir::Model* reference,
                             const PipelineOptions& options) {
  Report report;
  report.level = LevelName(options.level);
  report.target = options.target;
  report.graphopt_version = GraphoptVersion();
  ASSIGN_OR_RETURN(const TargetProfile* target, TargetRegistry::Get().Find(options.target));

  report.nodes_before = static_cast<int64_t>(model.graph->num_nodes());
  report.ops_before = ir::CountOps(*model.graph);

  auto start = Clock::now();
  Progress(options, "optimizing");
  if (options.opset > 0) RETURN_IF_ERROR(ir::ConvertOpset(model, options.opset));
  ir::FixDims(model, options.dims);
  // Shape inference failing on an exotic model is not fatal: passes then see fewer shapes.
  (void)ir::InferShapes(model);
  std::unique_ptr<Evaluator> evaluator = MakeReferenceEvaluator();
  PassManagerOptions pm;
  pm.level = options.level;
  pm.enable = options.enable;
  pm.disable = options.disable;
  pm.max_iterations = options.max_iterations;
  pm.pass_options.dims = options.dims;
  pm.pass_options.fold_size_cap_bytes = options.fold_size_cap_bytes;
  pm.cancelled = options.cancelled;
  if (options.on_progress) {
    pm.on_pass = [&](int index, int count, const std::string& name) {
      options.on_progress(ProgressEvent{"optimizing", index, count, name});
    };
  }
  PassManager manager;
  ASSIGN_OR_RETURN(report.passes, manager.Run(model, *target, evaluator.get(), pm));
  (void)ir::InferShapes(model);
  model.SetMetadata("graphopt.version", GraphoptVersion());
  model.SetMetadata("graphopt.target", target->name);
  model.SetMetadata("graphopt.level", LevelName(options.level));
  report.optimize_ms = MsSince(start);
  report.nodes_after = static_cast<int64_t>(model.graph->num_nodes());
  report.ops_after = ir::CountOps(*model.graph);

  if (options.verify && reference) {
    if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
    Progress(options, "verifying");
    start = Clock::now();
    VerifyOptions vo = options.verify_options;
    for (const auto& [k, v] : options.dims) vo.dims.emplace(k, v);
    auto verification = evaluator->Verify(*reference, model, vo);
    report.verify_ms = MsSince(start);
    report.atol = vo.atol;
    report.rtol = vo.rtol;
    if (!verification.ok()) {
      // The executor could not run a model (unsupported operator...): that is not a pass.
      report.verification_status = "skipped";
      report.verification_message = verification.status().message();
    } else {
      report.verification_status = verification->passed ? "passed" : "failed";
      report.verification_outputs = verification->outputs;
      report.verification_message = verification->message;
    }
  }
  return report;
}

Result<Report> OptimizeFile(const std::string& in_path, const std::string& out_path,
                            const PipelineOptions& options, Report* failed_report) {
  auto start = Clock::now();
  Progress(options, "loading");
  ASSIGN_OR_RETURN(auto model, LoadModel(in_path));
  // The original stays for verification; it shares weight bytes with the copy being rewritten.
  std::unique_ptr<ir::Model> original;
  if (options.verify) original = ir::CloneModel(*model);
  const double load_ms = MsSince(start);

  ASSIGN_OR_RETURN(Report report, OptimizeModel(*model, original.get(), options));
  report.load_ms = load_ms;
  report.bytes_before = FileBytes(in_path);
  original.reset();
  if (report.verification_status == "failed") {
    if (failed_report) *failed_report = report;
    return FailedPrecondition("verification failed: the optimized model's outputs differ from "
                              "the original's (" + report.verification_message + ")");
  }
  if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
  Progress(options, "saving");
  start = Clock::now();
  ASSIGN_OR_RETURN(report.bytes_after, SaveModel(*model, out_path, options.save));
  report.save_ms = MsSince(start);
  return report;
}

}  // namespace graphopt
