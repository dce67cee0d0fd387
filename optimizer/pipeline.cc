#include "optimizer/pipeline.h"

#include "optimizer/evaluator.h"
#include "optimizer/io/model_io.h"
#include "optimizer/optimize_model.h"
#include "optimizer/pass/pass_manager.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "optimizer/ir/opset_conversion.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/ir/size_checks.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/sample_dims.h"
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

bool PassExists(const std::string& name) { return PassRegistry::Get().Find(name) != nullptr; }

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

Status CheckDimNames(const ir::Model& model, const std::map<std::string, int64_t>& dims) {
  const auto symbols = ir::InputSymbols(*model.graph);
  for (const auto& [name, value] : dims) {
    if (symbols.count(name)) continue;
    std::string known;
    for (const std::string& s : symbols) known += (known.empty() ? "" : ", ") + s;
    return InvalidArgument("--dim " + name + ": the model has no symbolic dim of that name (its " +
                           "symbolic dims: " + (known.empty() ? "none" : known) + ")");
  }
  return Status::Ok();
}

// Verification at two assignments of the free symbolic dims (one when every dim is fixed): a
// rewrite that froze a shape passes at most one of them. The first failure or skip decides.
void Verify(Evaluator& evaluator, const ir::Model& reference, const ir::Model& optimized,
            const VerifyOptions& base, const std::map<std::string, int64_t>& overrides,
            Report* report) {
  std::string messages;
  for (const DimAssignment& dims : SampleDimAssignments(reference, base.dims, overrides)) {
    VerifyOptions vo = base;
    vo.dims = dims;
    report->verification_shapes.push_back(dims);
    const std::string at = " at " + AssignmentToString(dims);
    auto verification = evaluator.Verify(reference, optimized, vo);
    if (!verification.ok()) {
      // The executor could not run a model (unsupported operator...): that is not a pass.
      report->verification_status = "skipped";
      report->verification_message = verification.status().message() + at;
      return;
    }
    report->verification_outputs = verification->outputs;
    messages += (messages.empty() ? "" : "; ") + verification->message + at;
    report->verification_message = messages;
    if (!verification->passed) {
      report->verification_status = "failed";
      return;
    }
    report->verification_status = "passed";
  }
}

}  // namespace

Result<Report> OptimizeModel(ir::Model& model, const ir::Model* reference,
                             const PipelineOptions& options) {
  Report report;
  report.level = LevelName(options.level);
  report.target = options.target;
  report.graphopt_version = GraphoptVersion();
  ASSIGN_OR_RETURN(const TargetProfile* target, TargetRegistry::Get().Find(options.target));
  report.isa = target->isa;
  report.isa_from_host = target->isa_from_host;

  report.nodes_before = static_cast<int64_t>(model.graph->num_nodes());
  report.ops_before = ir::CountOps(*model.graph);

  auto start = Clock::now();
  Progress(options, "optimizing");
  if (options.opset > 0) RETURN_IF_ERROR(ir::ConvertOpset(model, options.opset));
  ir::NameUnknownInputDims(model);
  if (options.check_dim_names) RETURN_IF_ERROR(CheckDimNames(model, options.dims));
  report.dims_fixed = options.dims;
  ir::FixDims(model, options.dims);
  // Shape inference failing on an exotic model is not fatal: passes then see fewer shapes. The
  // report says so.
  if (Status inferred = ir::InferShapes(model); !inferred.ok()) {
    report.warnings.push_back("shape inference before the passes: " + inferred.message());
  }
  // A shape too large to count is a malformed model: refuse it before folding could wrap it.
  RETURN_IF_ERROR(ir::CheckValueSizes(*model.graph));
  std::unique_ptr<Evaluator> evaluator = MakeReferenceEvaluator();
  PassManagerOptions pm;
  pm.level = options.level;
  pm.enable = options.enable;
  pm.disable = options.disable;
  pm.max_iterations = options.max_iterations;
  pm.pass_options.dims = options.dims;
  pm.pass_options.fold_size_cap_bytes = options.fold_size_cap_bytes;
  pm.cancelled = options.cancelled;
  pm.verify_ir = options.verify_ir;
  pm.print_ir_after = options.print_ir_after;
  pm.print_ir = options.print_ir;
  if (options.on_progress) {
    pm.on_pass = [&](int index, int count, const std::string& name) {
      options.on_progress(ProgressEvent{"optimizing", index, count, name});
    };
  }
  PassManager manager;
  ASSIGN_OR_RETURN(report.passes, manager.Run(model, *target, evaluator.get(), pm));
  if (Status inferred = ir::InferShapes(model); !inferred.ok()) {
    report.warnings.push_back("shape inference after the passes: " + inferred.message());
  }
  model.SetMetadata("graphopt.version", GraphoptVersion());
  model.SetMetadata("graphopt.target", target->name);
  model.SetMetadata("graphopt.level", LevelName(options.level));
  if (!target->isa.empty()) model.SetMetadata("graphopt.isa", target->isa);
  report.optimize_ms = MsSince(start);
  report.nodes_after = static_cast<int64_t>(model.graph->num_nodes());
  report.ops_after = ir::CountOps(*model.graph);

  for (const std::string& s : ir::InputSymbols(*model.graph)) report.dims_symbolic.push_back(s);

  if (options.verify && reference) {
    if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
    Progress(options, "verifying");
    start = Clock::now();
    VerifyOptions vo = options.verify_options;
    for (const auto& [k, v] : options.dims) vo.dims.emplace(k, v);
    Verify(*evaluator, *reference, model, vo, options.verify_dims, &report);
    report.verify_ms = MsSince(start);
    report.atol = vo.atol;
    report.rtol = vo.rtol;
  }
  return report;
}

Result<Report> OptimizeFile(const std::string& in_path, const std::string& out_path,
                            const PipelineOptions& options, Report* failed_report) {
  auto start = Clock::now();
  Progress(options, "loading");
  ASSIGN_OR_RETURN(auto model, LoadModel(in_path));
  // Named before the copy, so that the original and the rewrite agree on sample values.
  ir::NameUnknownInputDims(*model);
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
