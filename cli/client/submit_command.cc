// `graphopt submit`: upload a model to graphopt-server, create an optimization job, and
// (with --wait, -o or --report) follow it and download the results.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/client/client_operations.h"
#include "cli/command.h"
#include "optimizer/pipeline.h"
#include "optimizer/util/finite_range.h"

namespace graphopt::cli {

namespace {

struct SubmitArgs {
  std::string server, input, output, report, report_html, level = "basic", target, idempotency_key;
  std::string name, version;
  std::vector<std::string> dims, enable, disable, labels;
  bool no_verify = false, fresh = false, wait = false, quiet = false;
  std::optional<double> atol, rtol, max_error, min_cosine;
  std::string quantize, precision;
  int priority = 0;
};

void AppendCommaList(const std::vector<std::string>& items,
                     google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const auto& item : items) {
    std::stringstream ss(item);
    for (std::string part; std::getline(ss, part, ',');) {
      if (!part.empty()) *out->Add() = part;
    }
  }
}

int RunSubmit(const SubmitArgs& a) {
  api::CreateJobRequest request;
  auto* options = request.mutable_options();
  const auto level = LevelFromName(a.level);
  if (!level) {
    std::cerr << "graphopt: unknown level '" << a.level
              << "' (disabled, basic, extended, layout, all)\n";
    return kExitError;
  }
  options->set_level(*level);
  options->set_target(a.target);
  std::map<std::string, int64_t> dims;
  std::string error;
  if (!ParseDims(a.dims, &dims, &error)) {
    std::cerr << "graphopt: " << error << "\n";
    return kExitError;
  }
  options->mutable_dims()->insert(dims.begin(), dims.end());
  AppendCommaList(a.enable, options->mutable_enable_passes());
  AppendCommaList(a.disable, options->mutable_disable_passes());
  if (a.no_verify) options->set_verify(false);
  if (a.atol) options->set_atol(*a.atol);
  if (a.rtol) options->set_rtol(*a.rtol);
  options->set_quantize(a.quantize);
  options->set_precision(a.precision);
  if (a.max_error) options->set_max_error(*a.max_error);
  if (a.min_cosine) options->set_min_cosine(*a.min_cosine);
  options->set_priority(a.priority);
  // The options are checked here by the function the server calls, so a mistake is a usage
  // error before anything is uploaded.
  PipelineOptions check;
  check.target = a.target.empty() ? "generic" : a.target;
  check.dims = dims;
  check.enable.insert(options->enable_passes().begin(), options->enable_passes().end());
  check.disable.insert(options->disable_passes().begin(), options->disable_passes().end());
  if (a.atol) check.verify_options.atol = *a.atol;
  if (a.rtol) check.verify_options.rtol = *a.rtol;
  check.quantize = a.quantize;
  check.precision = a.precision;
  check.max_error = a.max_error;
  if (a.min_cosine) check.min_cosine = *a.min_cosine;
  if (Status valid = ValidatePipelineOptions(check); !valid.ok()) {
    std::cerr << "graphopt: " << valid.message() << "\n";
    return kExitError;
  }
  request.set_fresh(a.fresh);
  request.set_idempotency_key(a.idempotency_key);
  ModelIdentity identity;
  if (std::string bad = ParseModelIdentity(a.name, a.version, {}, &identity); !bad.empty()) {
    std::cerr << "graphopt: " << bad << "\n";
    return kExitError;
  }
  std::map<std::string, std::string> labels;
  if (std::string bad = ParseLabelSpecs(a.labels, &labels); !bad.empty()) {
    std::cerr << "graphopt: " << bad << "\n";
    return kExitError;
  }
  request.mutable_labels()->insert(labels.begin(), labels.end());

  std::vector<std::string> locations;
  if (int rc = ExternalDataLocations(a.input, &locations); rc != kExitOk) return rc;

  auto stub = MakeStub(a.server);
  api::Model model;
  if (int rc = UploadFile(*stub, a.server, a.input, api::FILE_KIND_ONNX_MODEL, a.quiet, &model,
                          identity);
      rc != kExitOk) {
    return rc;
  }
  // External data files travel as separate uploads, named by the location the model uses.
  const auto folder = std::filesystem::path(a.input).parent_path();
  for (const auto& location : locations) {
    api::Model data;
    const std::string data_path = (folder / location).string();
    if (int rc =
            UploadFile(*stub, a.server, data_path, api::FILE_KIND_EXTERNAL_DATA, a.quiet, &data);
        rc != kExitOk) {
      return rc;
    }
    (*request.mutable_external_data())[location] = data.digest();
  }
  request.set_model_digest(model.digest());

  api::Job job;
  const grpc::Status status =
      CallUnary(*stub, &api::OptimizerService::Stub::CreateJob, request, &job);
  if (!status.ok()) return ReportRpcError(status, a.server);
  std::cout << job.id() << "\n" << std::flush;  // stdout carries the id, for scripts
  if (!a.quiet) {
    std::cerr << "created job " << job.id() << " (" << JobStateName(job.state()) << ")";
    if (!job.cached_from_job_id().empty()) {
      std::cerr << ", result cached from job " << job.cached_from_job_id();
    }
    std::cerr << "\n";
  }

  if (!a.wait && a.output.empty() && a.report.empty() && a.report_html.empty()) return kExitOk;
  if (!IsTerminal(job.state())) {
    if (int rc = FollowJob(*stub, a.server, job.id(), a.quiet, false, &job); rc != kExitOk) {
      return rc;
    }
  } else if (!a.quiet) {
    std::cerr << DescribeOutcome(job) << "\n";
  }
  // A failed verification still has a report worth keeping.
  if (!a.report.empty() && !job.report_digest().empty()) {
    if (int rc =
            DownloadToFile(*stub, a.server, job.id(), api::ARTIFACT_KIND_REPORT, a.report, a.quiet);
        rc != kExitOk) {
      return rc;
    }
  }
  if (!a.report_html.empty() && !job.report_digest().empty()) {
    if (int rc = DownloadToFile(*stub, a.server, job.id(), api::ARTIFACT_KIND_REPORT_HTML,
                                a.report_html, a.quiet);
        rc != kExitOk) {
      return rc;
    }
  }
  if (job.state() == api::JOB_STATE_SUCCEEDED && !a.output.empty()) {
    if (int rc =
            DownloadToFile(*stub, a.server, job.id(), api::ARTIFACT_KIND_MODEL, a.output, a.quiet);
        rc != kExitOk) {
      return rc;
    }
  }
  if (job.state() != api::JOB_STATE_SUCCEEDED) {
    std::cerr << "graphopt: " << DescribeOutcome(job) << "\n";
  }
  return ExitCodeForJob(job);
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<SubmitArgs>();
  CLI::App* cmd = app.add_subcommand("submit", "optimize a model on graphopt-server");
  cmd->add_option("input", a->input, "model to optimize (.onnx)")
      ->required()
      ->check(CLI::ExistingFile);
  AddServerOption(cmd, &a->server);
  cmd->add_option("--level", a->level, "disabled|basic|extended|layout|all (default basic)");
  cmd->add_option("--target", a->target, "target profile (default: the server's, generic)");
  // One value per occurrence, any number of occurrences, so `--dim batch=1 model.onnx` leaves
  // the model positional alone.
  cmd->add_option("--dim", a->dims, "fix a symbolic dim: NAME=VALUE (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--enable", a->enable, "passes to run in addition (comma separated)")
      ->allow_extra_args(false);
  cmd->add_option("--disable", a->disable, "passes not to run (comma separated)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-verify", a->no_verify, "skip the numerical check of the result");
  // Tolerances are checked by ValidatePipelineOptions, as the server checks them.
  cmd->add_option("--atol", a->atol, "absolute tolerance of verification");
  cmd->add_option("--rtol", a->rtol, "relative tolerance of verification");
  cmd->add_option("--quantize", a->quantize, "dynamic-int8 (accuracy measured, not verified)");
  cmd->add_option("--precision", a->precision, "fp16 for targets that declare it (cuda)");
  cmd->add_option("--max-error", a->max_error,
                  "with a conversion: fail above this max abs error of an output");
  cmd->add_option("--min-cosine", a->min_cosine,
                  "with a conversion: fail below this cosine similarity (default 0.99)");
  cmd->add_option("--priority", a->priority, "higher runs first (default 0)");
  cmd->add_option("--name", a->name, "name the uploaded model (see `graphopt upload`)");
  cmd->add_option("--version", a->version, "version of --name");
  cmd->add_option("--label", a->labels, "label of the job: KEY=VALUE (repeatable)")
      ->allow_extra_args(false);  // one KEY=VALUE per --label, any number of --label
  cmd->add_flag("--fresh", a->fresh, "run even if an identical job already succeeded");
  cmd->add_option("--idempotency-key", a->idempotency_key,
                  "retrying with the same key returns the same job");
  cmd->add_flag("--wait", a->wait, "follow the job until it finishes (implied by -o/--report)");
  cmd->add_option("-o,--output", a->output, "download the optimized model here");
  cmd->add_option("--report", a->report, "download the JSON report here");
  cmd->add_option("--report-html", a->report_html, "download the report as an HTML page here");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
  return [a] { return RunSubmit(*a); };
};

GRAPHOPT_REGISTER_COMMAND("submit", 60, Setup);

}  // namespace

}  // namespace graphopt::cli
