// `graphopt optimize`: the whole pipeline in process, with a report table and JSON.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/bounded_run.h"
#include "cli/command.h"
#include "cli/optimize_progress.h"
#include "optimizer/pipeline.h"
#include "optimizer/util/finite_range.h"

namespace graphopt::cli {

namespace {

std::set<std::string> SplitCommaList(const std::vector<std::string>& items) {
  std::set<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ',')) {
      if (!part.empty()) out.insert(part);
    }
  }
  return out;
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << "\n";
  return static_cast<bool>(out);
}

// --verify-int NAME=VALUE: any integer, negative ones too (unlike a dim).
bool ParseIntValues(const std::vector<std::string>& specs, std::map<std::string, int64_t>* out,
                    std::string* error) {
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    size_t used = 0;
    int64_t v = 0;
    bool ok = eq != std::string::npos && eq > 0 && eq + 1 < spec.size();
    try {
      if (ok) v = std::stoll(spec.substr(eq + 1), &used);
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok || used != spec.size() - eq - 1) {
      *error = "--verify-int expects NAME=INTEGER, got '" + spec + "'";
      return false;
    }
    (*out)[spec.substr(0, eq)] = v;
  }
  return true;
}

struct OptimizeArgs {
  std::string input, output, level = "basic", target = "generic", report, report_html;
  std::string print_ir_after;
  std::vector<std::string> dims, verify_dims, verify_ints, enable, disable;
  bool external_data = false, quiet = false, no_verify = false, verify_ir = false;
  bool explain = false, provenance = false, no_bisect = false;
  int64_t bisect_limit = -1;
  double atol = 1e-4, rtol = 1e-3;
  int64_t opset = 0;
  std::string quantize, precision;
  std::optional<double> max_error;
  double min_cosine = 0.99;
  int accuracy_samples = 3;
  Bounds bounds;
};

int RunOptimize(const OptimizeArgs& a) {
  if (auto bounded = RunBounded(a.bounds, BoundedCommand::kOptimize)) return *bounded;
  PipelineOptions options;
  auto level = ParseLevel(a.level);
  if (!level.ok()) {
    std::cerr << "graphopt: " << level.status().message() << "\n";
    return kExitError;
  }
  options.level = *level;
  options.target = a.target;
  options.opset = a.opset;
  std::string error;
  if (!ParseDims(a.dims, &options.dims, &error) ||
      !ParseDims(a.verify_dims, &options.verify_dims, &error) ||
      !ParseIntValues(a.verify_ints, &options.verify_ints, &error)) {
    std::cerr << "graphopt: " << error << "\n";
    return kExitError;
  }
  options.check_dim_names = true;
  options.enable = SplitCommaList(a.enable);
  options.disable = SplitCommaList(a.disable);
  options.verify = !a.no_verify;
  options.verify_options.atol = a.atol;
  options.verify_options.rtol = a.rtol;
  options.quantize = a.quantize;
  options.precision = a.precision;
  options.max_error = a.max_error;
  options.min_cosine = a.min_cosine;
  options.accuracy_samples = a.accuracy_samples;
  options.save.external_data = a.external_data;
  options.verify_ir = a.verify_ir;
  options.print_ir_after = a.print_ir_after;
  options.bisect_limit = a.bisect_limit;
  options.bisect_on_failure = !a.no_bisect;
  options.provenance_metadata = a.provenance;
  OptimizeProgress progress(a.quiet);
  options.on_progress = [&progress](const ProgressEvent& e) { progress.OnEvent(e); };
  options.print_ir = [&progress](const std::string& pass, const std::string& text) {
    progress.Clear();
    std::cerr << "# IR after " << pass << "\n" << text << "\n";
  };
  options.on_progress = [](const ProgressEvent& e) { ReportStage(e.stage); };
  if (Status valid = ValidatePipelineOptions(options); !valid.ok()) {
    std::cerr << "graphopt: " << valid.message() << "\n";
    return kExitError;
  }

  Report failed;
  auto report = OptimizeFile(a.input, a.output, options, &failed);
  progress.Clear();
  if (!report.ok()) {
    const bool mismatch = failed.verification_status == VerificationStatus::kFailed;
    if (!a.report.empty() && mismatch) WriteText(a.report, failed.ToJson());
    if (!a.report_html.empty() && mismatch) WriteText(a.report_html, failed.ToHtml());
    if (!a.quiet && mismatch) std::cerr << failed.ToTable();
    if (a.explain && mismatch) std::cerr << failed.ExplainText();
    std::cerr << "graphopt: " << report.status().message() << "\n";
    return mismatch ? kExitMismatch : kExitError;
  }
  if (!a.report.empty() && !WriteText(a.report, report->ToJson())) {
    std::cerr << "graphopt: cannot write report '" << a.report << "'\n";
    return kExitError;
  }
  if (!a.report_html.empty() && !WriteText(a.report_html, report->ToHtml())) {
    std::cerr << "graphopt: cannot write HTML report '" << a.report_html << "'\n";
    return kExitError;
  }
  if (!a.quiet) {
    std::cout << report->ToTable();
    if (report->verification_status == VerificationStatus::kSkipped &&
        !report->verification_message.empty()) {
      std::cout << "verification skipped: " << report->verification_message << "\n";
    }
  }
  // --explain prints even with --quiet: it was asked for.
  if (a.explain) std::cout << report->ExplainText();
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<OptimizeArgs>();
  CLI::App* cmd = app.add_subcommand("optimize", "optimize an ONNX model");
  cmd->add_option("input", args->input, "model to optimize (.onnx)")->required();
  cmd->add_option("-o,--output", args->output, "where to write the optimized model")->required();
  cmd->add_option("--level", args->level, "disabled|basic|extended|layout|all (default basic)");
  cmd->add_option("--target", args->target, "target profile (see `graphopt targets`)");
  cmd->add_option("--opset", args->opset, "raise the model's opset to N (<= 17) first");
  cmd->add_option("--dim", args->dims, "fix a symbolic dim: NAME=VALUE (repeatable)");
  cmd->add_option("--verify-dim", args->verify_dims,
                  "sample value of a symbolic dim for verification: NAME=VALUE (repeatable)");
  cmd->add_option("--verify-int", args->verify_ints,
                  "value of an integer input during verification, instead of the values that "
                  "take each branch of the Ifs it decides: NAME=VALUE (repeatable)");
  cmd->add_option("--enable", args->enable, "passes to run in addition (comma separated)");
  cmd->add_option("--disable", args->disable, "passes not to run (comma separated)");
  cmd->add_option("--report", args->report, "write the JSON report here");
  cmd->add_option("--report-html", args->report_html,
                  "write the report as one self-contained HTML page here");
  cmd->add_flag("--external-data", args->external_data, "store large initializers in OUT.data");
  cmd->add_flag("--no-verify", args->no_verify, "skip the numerical check of the result");
  // Tolerances are checked by ValidatePipelineOptions, as the server checks them.
  cmd->add_option("--atol", args->atol, "absolute tolerance of verification (default 1e-4)");
  cmd->add_option("--rtol", args->rtol, "relative tolerance of verification (default 1e-3)");
  // Conversions: checked by ValidatePipelineOptions (against the target's profile).
  cmd->add_option("--quantize", args->quantize,
                  "dynamic-int8: int8 MatMul/Gemm weights, activations quantized at run time; "
                  "accuracy is measured, not verified");
  cmd->add_option("--precision", args->precision,
                  "fp16: float16 weights and compute for targets that declare it (cuda); "
                  "accuracy is measured, not verified");
  cmd->add_option("--max-error", args->max_error,
                  "with a conversion: fail when an output's max abs error is above this");
  cmd->add_option("--min-cosine", args->min_cosine,
                  "with a conversion: fail when an output's cosine similarity to the original "
                  "is below this (default 0.99)");
  cmd->add_option("--accuracy-samples", args->accuracy_samples,
                  "with a conversion: random inputs per dims assignment (default 3)");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  cmd->add_flag("--verify-ir", args->verify_ir, "check the IR's invariants after every pass");
  cmd->add_flag("--explain", args->explain,
                "print why fusions did not fire (near misses) and which passes the target drops");
  cmd->add_option("--bisect-limit", args->bisect_limit,
                  "apply only the first N rewrites (counted across passes from 1), to find the "
                  "one that breaks a model");
  cmd->add_flag("--no-bisect", args->no_bisect,
                "on a verification failure, do not search for the first failing rewrite");
  cmd->add_flag("--provenance", args->provenance,
                "store which original nodes each rewrite consumed and created in the artifact "
                "(metadata graphopt.provenance)");
  cmd->add_option("--print-ir-after", args->print_ir_after,
                  "print the graph (ONNX text, to stderr) after this pass, or after each: all");
  AddBoundFlags(cmd, &args->bounds);
  return [args] { return RunOptimize(*args); };
};

GRAPHOPT_REGISTER_COMMAND("optimize", 10, Setup);

}  // namespace

}  // namespace graphopt::cli
