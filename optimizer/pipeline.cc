#include "optimizer/pipeline.h"

#include "optimizer/evaluator.h"
#include "optimizer/io/model_io.h"
#include "optimizer/optimize_model.h"
#include "optimizer/pass/pass_manager.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <algorithm>

#include "optimizer/analysis/model_metrics.h"
#include "optimizer/ir/opset_conversion.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/ir/size_checks.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/passes/precision/precision_conversion.h"
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
  // "to enable"/"to disable" says which list holds it (the server's error details name the field).
  for (const auto& [names, verb] :
       {std::pair{&options.enable, "enable"}, {&options.disable, "disable"}}) {
    for (const auto& name : *names) {
      if (PassRegistry::Get().Find(name) == nullptr) {
        return InvalidArgument("unknown pass '" + name + "' to " + verb +
                               " (graphopt passes lists them)");
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
       {std::pair{"atol", options.verify_options.atol}, {"rtol", options.verify_options.rtol},
        {"max_error", options.max_error.value_or(0.0)}}) {
    if (!std::isfinite(value) || value < 0) {
      return InvalidArgument(std::string(what) + " must be a finite number >= 0");
    }
  }
  if (!(options.min_cosine >= -1 && options.min_cosine <= 1)) {
    return InvalidArgument("min_cosine must be between -1 and 1");
  }
  if (options.accuracy_samples < 1 || options.accuracy_samples > 64) {
    return InvalidArgument("accuracy_samples must be between 1 and 64");
  }
  // The target is known (checked first).
  return CheckConversions(options.quantize, options.precision,
                          *TargetRegistry::Get().Find(options.target).value());
}

const char* GraphoptVersion() { return GRAPHOPT_VERSION; }

bool PassExists(const std::string& name) { return PassRegistry::Get().Find(name) != nullptr; }

namespace {

void CollectNodeNames(const ir::Graph& graph, std::set<std::string>& names) {
  for (const ir::Node* n : graph.nodes()) {
    if (!n->name().empty()) names.insert(n->name());
    for (const ir::Graph* sub : n->Subgraphs()) CollectNodeNames(*sub, names);
  }
}

// A near miss is worth reading only while its node is still there: one that a later round
// rewrote (often by the very rule that declined, once another pass folded its inputs) would
// send a user looking for a failure that did not last. Only names of the model's own nodes are
// judged; labels of nodes the passes created, or of unnamed nodes, are kept.
int64_t DropResolvedNearMisses(const std::set<std::string>& original_names,
                               const ir::Graph& final_graph, std::vector<PassStats>& passes) {
  std::set<std::string> remaining;
  CollectNodeNames(final_graph, remaining);
  int64_t resolved = 0;
  for (PassStats& p : passes) {
    auto& misses = p.record.near_misses;
    const size_t before = misses.size();
    misses.erase(std::remove_if(misses.begin(), misses.end(),
                                [&](const NearMiss& m) {
                                  return original_names.count(m.node) && !remaining.count(m.node);
                                }),
                 misses.end());
    resolved += static_cast<int64_t>(before - misses.size());
  }
  return resolved;
}

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
  if (o.on_progress) o.on_progress(ProgressEvent{stage, 0, 0, 0, ""});
}

// Verification at two assignments of the free symbolic dims (one when every dim is fixed), each
// with the integer input values that take each branch of the Ifs (VerificationSamples): a
// rewrite that froze a shape passes at most one assignment, and a rewrite inside a branch the
// random inputs skip is run too. The first failure or skip decides.
void Verify(Evaluator& evaluator, const ir::Model& reference, const ir::Model& optimized,
            const VerifyOptions& base, const PipelineOptions& options, Report* report) {
  std::string messages;
  const std::vector<VerificationSample> samples = VerificationSamples(
      reference, base.dims, options.verify_dims, options.verify_ints, &report->verification_ifs);
  for (const IfBranchCoverage& c : report->verification_ifs) {
    if (!c.both_branches) {
      report->warnings.push_back("If " + c.node + " is verified on one branch only: " + c.reason);
    }
  }
  for (const VerificationSample& sample : samples) {
    VerifyOptions vo = base;
    vo.dims = sample.dims;
    vo.int_values = sample.ints;
    report->verification_shapes.push_back(sample.dims);
    report->verification_int_inputs.push_back(sample.ints);
    const std::string at = " at " + SampleToString(sample);
    auto verification = evaluator.Verify(reference, optimized, vo);
    if (!verification.ok()) {
      // The executor could not run a model (unsupported operator...): that is not a pass.
      report->verification_status = VerificationStatus::kSkipped;
      report->verification_message = verification.status().message() + at;
      return;
    }
    if (report->verification_shapes.size() == 1 && report->has_metrics &&
        sample.dims == report->metrics_dims) {
      report->metrics_before.latency_ms = verification->original_ms;
      report->metrics_after.latency_ms = verification->optimized_ms;
    }
    report->verification_outputs = verification->outputs;
    messages += (messages.empty() ? "" : "; ") + verification->message + at;
    report->verification_message = messages;
    if (!verification->passed) {
      report->verification_status = VerificationStatus::kFailed;
      return;
    }
    report->verification_status = VerificationStatus::kPassed;
  }
}

// After a conversion: runs the original and the converted model on `accuracy_samples` inputs
// at each assignment and keeps, per output, the largest errors and the lowest cosine
// similarity. An output fails below options.min_cosine or above options.max_error.
void MeasureAccuracy(Evaluator& evaluator, const ir::Model& reference, const ir::Model& converted,
                     const VerifyOptions& base, const PipelineOptions& options, Report* report) {
  report->verification_kind = "accuracy";
  report->accuracy_samples = options.accuracy_samples;
  report->min_cosine = options.min_cosine;
  report->max_error = options.max_error;
  std::vector<OutputComparison> worst;
  int runs = 0;
  std::vector<IfBranchCoverage> ifs;
  for (const VerificationSample& sample :
       VerificationSamples(reference, base.dims, options.verify_dims, options.verify_ints, &ifs)) {
    for (int s = 0; s < options.accuracy_samples; ++s) {
      VerifyOptions vo = base;
      vo.dims = sample.dims;
      vo.int_values = sample.ints;
      vo.seed = base.seed + 1 + static_cast<uint64_t>(s);  // other inputs than the equivalence run
      vo.atol = std::numeric_limits<double>::infinity();   // measure, do not judge
      vo.rtol = 0;
      auto run = evaluator.Verify(reference, converted, vo);
      if (!run.ok()) {
        report->verification_status = VerificationStatus::kSkipped;
        report->verification_message = "accuracy not measured: " + run.status().message();
        return;
      }
      if (run->outputs.empty()) {
        report->verification_status = VerificationStatus::kFailed;
        report->verification_message = "accuracy: " + run->message;
        return;
      }
      ++runs;
      if (worst.empty()) worst = run->outputs;
      for (size_t i = 0; i < worst.size() && i < run->outputs.size(); ++i) {
        const OutputComparison& o = run->outputs[i];
        OutputComparison& w = worst[i];
        w.max_abs_err = std::max(w.max_abs_err, o.max_abs_err);
        w.max_rel_err = std::max(w.max_rel_err, o.max_rel_err);
        w.cosine = std::min(w.cosine, o.cosine);
        if (!o.match && w.detail.empty()) w.detail = o.detail;  // shape, type or NaN placement
      }
    }
  }
  bool all_ok = true;
  double lowest = 1;
  for (OutputComparison& w : worst) {
    w.match = w.detail.empty() && w.cosine >= options.min_cosine &&
              (!options.max_error || w.max_abs_err <= *options.max_error);
    if (w.detail.empty() && w.cosine < options.min_cosine) {
      w.detail = "cosine similarity " + std::to_string(w.cosine) + " below " +
                 std::to_string(options.min_cosine);
    } else if (w.detail.empty() && !w.match) {
      w.detail = "max abs error " + std::to_string(w.max_abs_err) + " above max_error " +
                 std::to_string(*options.max_error);
    }
    all_ok = all_ok && w.match;
    lowest = std::min(lowest, w.cosine);
  }
  report->accuracy_outputs = worst;
  report->verification_status = all_ok ? VerificationStatus::kPassed : VerificationStatus::kFailed;
  report->verification_message += (report->verification_message.empty() ? "" : "; ") +
                                  std::string("accuracy over ") + std::to_string(runs) +
                                  " inputs: lowest cosine " + std::to_string(lowest) +
                                  (all_ok ? "" : " (outside the limits)");
}

// One optimization of `model` with the rewrite limit options.bisect_limit; `rewrites` receives
// the count and the last rewrite applied.
Result<Report> OptimizeOnce(ir::Model& model, const ir::Model* reference,
                            const PipelineOptions& options, RewriteCounter* rewrites) {
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
  if (!options.verify_ints.empty()) RETURN_IF_ERROR(CheckVerifyInts(model, options.verify_ints));
  report.dims_fixed = options.dims;
  ir::FixDims(model, options.dims);
  // Shape inference failing on an exotic model is not fatal: passes then see fewer shapes. The
  // report says so.
  if (Status inferred = ir::InferShapes(model); !inferred.ok()) {
    report.warnings.push_back("shape inference before the passes: " + inferred.message());
  }
  // A shape too large to count is a malformed model: refuse it before folding could wrap it.
  RETURN_IF_ERROR(ir::CheckValueSizes(*model.graph));
  // Metrics at the dims verification runs first, so their latency sits beside them.
  VerifyOptions verify_options = options.verify_options;
  for (const auto& [k, v] : options.dims) verify_options.dims.emplace(k, v);
  const std::vector<DimAssignment> samples =
      SampleDimAssignments(reference ? *reference : model, verify_options.dims, options.verify_dims);
  if (!samples.empty()) {
    report.has_metrics = true;
    report.metrics_dims = samples.front();
    report.metrics_before = ComputeModelMetrics(model, report.metrics_dims);
  }
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
  rewrites->limit = options.bisect_limit;
  pm.rewrites = rewrites;
  if (options.on_progress) {
    pm.on_pass = [&](int round, int index, int count, const std::string& name) {
      options.on_progress(ProgressEvent{"optimizing", round, index, count, name});
    };
  }
  PassManager manager;
  report.dropped_passes = PassManager::Dropped(pm, *target, model.OpsetVersion(""));
  std::set<std::string> original_names;
  CollectNodeNames(*model.graph, original_names);
  ASSIGN_OR_RETURN(report.passes, manager.Run(model, *target, evaluator.get(), pm));
  report.near_misses_resolved = DropResolvedNearMisses(original_names, *model.graph, report.passes);
  report.rewrites_total = rewrites->count;
  report.bisect_limit = options.bisect_limit;
  // A last round that still rewrote means the fixed point was cut off: later rounds could have
  // fused or folded more (and removed what those rewrites left unused). Say so rather than hand
  // back a half-finished artifact silently.
  int64_t last_round_rewrites = 0;
  for (const PassStats& s : report.passes) {
    for (const PassRun& run : s.rounds) {
      if (run.round == options.max_iterations) last_round_rewrites += run.applied;
    }
  }
  if (last_round_rewrites > 0 && options.bisect_limit < 0) {
    report.warnings.push_back("the passes did not reach a fixed point in " +
                              std::to_string(options.max_iterations) + " rounds (" +
                              std::to_string(last_round_rewrites) +
                              " rewrites in the last); the artifact may be optimized further");
  }
  if (Status inferred = ir::InferShapes(model); !inferred.ok()) {
    report.warnings.push_back("shape inference after the passes: " + inferred.message());
  }
  const bool converts = !options.quantize.empty() || options.precision == "fp16";
  if (converts) {
    // The passes are equivalence rewrites and are verified as such before the conversion,
    // whose error is measured instead (MeasureAccuracy).
    if (options.verify && reference) {
      Progress(options, "verifying");
      Verify(*evaluator, *reference, model, verify_options, options, &report);
      report.atol = verify_options.atol;
      report.rtol = verify_options.rtol;
      if (report.verification_status == VerificationStatus::kFailed) return report;
    }
    ASSIGN_OR_RETURN(report.conversions, ApplyConversions(model, options.quantize,
                                                          options.precision, *target));
    if (Status inferred = ir::InferShapes(model); !inferred.ok()) {
      report.warnings.push_back("shape inference after the conversions: " + inferred.message());
    }
    if (!options.quantize.empty()) model.SetMetadata("graphopt.quantize", options.quantize);
    if (!options.precision.empty()) model.SetMetadata("graphopt.precision", options.precision);
  }
  model.SetMetadata("graphopt.version", GraphoptVersion());
  model.SetMetadata("graphopt.target", target->name);
  model.SetMetadata("graphopt.level", LevelName(options.level));
  if (!target->isa.empty()) model.SetMetadata("graphopt.isa", target->isa);
  if (options.provenance_metadata) model.SetMetadata("graphopt.provenance", report.ProvenanceJson());
  report.optimize_ms = MsSince(start);
  report.nodes_after = static_cast<int64_t>(model.graph->num_nodes());
  report.ops_after = ir::CountOps(*model.graph);

  for (const std::string& s : ir::InputSymbols(*model.graph)) report.dims_symbolic.push_back(s);
  if (report.has_metrics) report.metrics_after = ComputeModelMetrics(model, report.metrics_dims);

  if (options.verify && reference) {
    if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
    Progress(options, "verifying");
    start = Clock::now();
    const VerifyOptions& vo = verify_options;
    if (converts) {
      if (report.verification_status != VerificationStatus::kSkipped) {
        MeasureAccuracy(*evaluator, *reference, model, vo, options, &report);
      }
    } else {
      Verify(*evaluator, *reference, model, vo, options, &report);
    }
    report.verify_ms = MsSince(start);
    report.atol = vo.atol;
    report.rtol = vo.rtol;
  }
  return report;
}


// Finds the first rewrite after which verification fails, by bisection over the rewrite count
// (LLVM's opt-bisect-limit): `failing` rewrites fail, 0 rewrites is the original. Assumes a
// prefix that fails keeps failing when longer, as opt-bisect does; each step re-optimizes a
// copy of `reference` with a limit and verifies it.
void Bisect(const ir::Model& reference, const PipelineOptions& options, int64_t failing,
            const RewriteCounter& last_failing, Report* report) {
  PipelineOptions probe = options;
  probe.bisect_on_failure = false;
  probe.provenance_metadata = false;
  probe.print_ir = nullptr;
  probe.on_progress = nullptr;
  int64_t good = 0, bad = failing;
  RewriteCounter culprit = last_failing;
  int steps = 0;
  while (bad - good > 1) {
    if (options.cancelled && options.cancelled()) {
      report->bisect_message = "cancelled";
      return;
    }
    const int64_t mid = good + (bad - good) / 2;
    if (options.on_progress) {
      options.on_progress(ProgressEvent{"bisecting", 0, steps, 0, "limit " + std::to_string(mid)});
    }
    ++steps;
    std::unique_ptr<ir::Model> copy = ir::CloneModel(reference);
    probe.bisect_limit = mid;
    RewriteCounter counter;
    auto result = OptimizeOnce(*copy, &reference, probe, &counter);
    if (!result.ok()) {
      report->bisect_message = "stopped at limit " + std::to_string(mid) + ": " +
                               result.status().message();
      return;
    }
    if (result->verification_status == VerificationStatus::kSkipped) {
      report->bisect_message = "stopped at limit " + std::to_string(mid) +
                               ": verification skipped (" + result->verification_message + ")";
      return;
    }
    if (result->verification_status == VerificationStatus::kFailed) {
      bad = mid;
      culprit = counter;
    } else {
      good = mid;
    }
  }
  report->culprit = Culprit{bad, culprit.last_pass, culprit.last.rule, culprit.last.from};
  report->bisect_message = "rewrite " + std::to_string(bad) + " of " + std::to_string(failing) +
                           " is the first that fails (" + std::to_string(steps) +
                           " re-optimizations)";
}

}  // namespace

Report VerifyModels(const ir::Model& reference, const ir::Model& optimized,
                    const PipelineOptions& options) {
  Report report;
  std::unique_ptr<Evaluator> evaluator = MakeReferenceEvaluator();
  VerifyOptions vo = options.verify_options;
  for (const auto& [k, v] : options.dims) vo.dims.emplace(k, v);
  Verify(*evaluator, reference, optimized, vo, options, &report);
  report.atol = vo.atol;
  report.rtol = vo.rtol;
  return report;
}

Result<Report> OptimizeModel(ir::Model& model, const ir::Model* reference,
                             const PipelineOptions& options) {
  RewriteCounter rewrites;
  ASSIGN_OR_RETURN(Report report, OptimizeOnce(model, reference, options, &rewrites));
  // An accuracy failure is the conversion's, not a rewrite's: there is nothing to bisect.
  if (report.verification_status == VerificationStatus::kFailed && options.bisect_on_failure &&
      reference && rewrites.count > 0 && report.verification_kind != "accuracy") {
    Bisect(*reference, options, rewrites.count, rewrites, &report);
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
  if (report.verification_status == VerificationStatus::kFailed) {
    if (failed_report) *failed_report = report;
    std::string culprit;
    if (report.culprit) {
      // In the error too: a job's error message is what the server keeps of a failed run.
      const Culprit& c = *report.culprit;
      culprit = "; first failing rewrite: " + std::to_string(c.index) + " of " +
                std::to_string(report.rewrites_total) + ", pass " + c.pass + ", rule " + c.rule;
      if (!c.nodes.empty()) {
        culprit += ", nodes";
        for (const auto& n : c.nodes) culprit += " " + n;
      }
    }
    if (report.verification_kind == "accuracy") {
      std::string worst;
      for (const OutputComparison& o : report.accuracy_outputs) {
        if (!o.match) worst += (worst.empty() ? "" : "; ") + o.name + ": " + o.detail;
      }
      return FailedPrecondition("verification failed: the converted model's accuracy is outside "
                                "the limits (" + worst + ")");
    }
    return FailedPrecondition("verification failed: the optimized model's outputs differ from "
                              "the original's (" + report.verification_message + ")" + culprit);
  }
  if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
  Progress(options, "saving");
  start = Clock::now();
  ASSIGN_OR_RETURN(report.bytes_after, SaveModel(*model, out_path, options.save));
  report.save_ms = MsSince(start);
  return report;
}

}  // namespace graphopt
