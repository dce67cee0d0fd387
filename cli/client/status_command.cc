// `graphopt status JOB`: one job's state, progress, result and error.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace {

struct StatusArgs {
  std::string server, job_id;
  bool json = false;
};

void PrintJob(const api::Job& job) {
  auto row = [](const std::string& key, const std::string& value) {
    std::cout << key << std::string(key.size() < 10 ? 10 - key.size() : 1, ' ') << value << "\n";
  };
  const auto& o = job.options();
  row("job", job.id());
  row("state", JobStateName(job.state()));
  row("model", job.model_digest());
  row("level", LevelName(o.level()));
  row("target", o.target().empty() ? "generic" : o.target());
  if (o.priority() != 0) row("priority", std::to_string(o.priority()));
  row("created", FormatTimestamp(job.created_at()));
  row("started", FormatTimestamp(job.started_at()));
  row("finished", FormatTimestamp(job.finished_at()));
  const auto& p = job.progress();
  if (!IsTerminal(job.state())) {
    std::string progress = p.stage().empty() ? "-" : p.stage();
    if (p.pass_count() > 0) progress += ", " + PassProgressText(p);
    row("progress", progress);
  }
  if (job.state() == api::JOB_STATE_SUCCEEDED || !job.report().verification_status().empty()) {
    const auto& r = job.report();
    row("nodes", std::to_string(r.nodes_before()) + " -> " + std::to_string(r.nodes_after()));
    row("bytes", std::to_string(r.bytes_before()) + " -> " + std::to_string(r.bytes_after()));
    row("verified", r.verification_status().empty() ? "-" : r.verification_status());
  }
  if (!job.artifact_digest().empty()) {
    row("artifact",
        job.artifact_digest() + " (" + std::to_string(job.artifact_size_bytes()) + " bytes)");
  }
  if (!job.cached_from_job_id().empty()) row("cached", "from job " + job.cached_from_job_id());
  if (job.has_error() && !job.error().code().empty()) {
    row("error", job.error().code() + ": " + job.error().message());
  }
  if (job.attempts() > 1) row("attempts", std::to_string(job.attempts()));
}

int RunStatus(const StatusArgs& a) {
  auto stub = MakeStub(a.server);
  api::GetJobRequest request;
  request.set_job_id(a.job_id);
  api::Job job;
  const grpc::Status status = CallUnary(*stub, &api::OptimizerService::Stub::GetJob, request, &job);
  if (!status.ok()) return ReportRpcError(status, a.server);
  if (a.json) {
    PrintJsonLine(job);
  } else {
    PrintJob(job);
  }
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand("status", "show a job of graphopt-server");
  cmd->add_option("job", a->job_id, "job id")->required();
  AddServerOption(cmd, &a->server);
  cmd->add_flag("--json", a->json, "print the job as JSON");
  return [a] { return RunStatus(*a); };
};

GRAPHOPT_REGISTER_COMMAND("status", 61, Setup);

}  // namespace

}  // namespace graphopt::cli
