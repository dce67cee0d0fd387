// `graphopt jobs [list]`: the server's jobs, newest first, filtered by state, labels, model name
// and age; `graphopt jobs delete JOB`.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"
#include "resource_labels.h"

namespace graphopt::cli {

namespace {

struct JobsArgs {
  std::string server, state, selector, model_name, since, job_id;
  int limit = 50;
  bool json = false;
};

int RunJobsDelete(const JobsArgs& a) {
  auto stub = MakeStub(a.server);
  api::DeleteJobRequest request;
  request.set_job_id(a.job_id);
  api::DeleteJobResponse response;
  const grpc::Status status =
      CallUnary(*stub, &api::OptimizerService::Stub::DeleteJob, request, &response);
  if (!status.ok()) return ReportRpcError(status, a.server);
  PrintDeleted(a.job_id, response.reclaimed_bytes());
  return kExitOk;
}

int RunJobs(const JobsArgs& a) {
  api::ListJobsRequest request;
  if (!a.state.empty()) {
    const auto state = JobStateFromName(a.state);
    if (!state) {
      std::cerr << "graphopt: unknown state '" << a.state
                << "' (queued, running, succeeded, failed, cancelled)\n";
      return kExitError;
    }
    request.set_state(*state);
  }
  std::vector<LabelRequirement> selector;
  if (std::string bad = ParseLabelSelector(a.selector, &selector); !bad.empty()) {
    std::cerr << "graphopt: --label: " << bad << "\n";
    return kExitError;
  }
  request.set_label_selector(a.selector);
  if (std::string bad = CheckModelName(a.model_name, "--model-name"); !bad.empty()) {
    std::cerr << "graphopt: " << bad << "\n";
    return kExitError;
  }
  request.set_model_name(a.model_name);
  if (!a.since.empty()) {
    const int64_t ago = ParseDurationMillis(a.since);
    if (ago < 0) {
      std::cerr << "graphopt: --since expects a duration such as 30m, 12h or 7d\n";
      return kExitError;
    }
    const int64_t after = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          ago;
    request.mutable_created_after()->set_seconds(after / 1000);
    request.mutable_created_after()->set_nanos(static_cast<int32_t>(after % 1000) * 1000000);
  }
  if (a.limit < 1) {
    std::cerr << "graphopt: --limit must be at least 1\n";
    return kExitError;
  }
  auto stub = MakeStub(a.server);
  std::vector<api::Job> jobs;
  // Page through until `limit` jobs or the last page.
  while (static_cast<int>(jobs.size()) < a.limit) {
    request.set_page_size(std::min(500, a.limit - static_cast<int>(jobs.size())));
    api::ListJobsResponse response;
    const grpc::Status status =
        CallUnary(*stub, &api::OptimizerService::Stub::ListJobs, request, &response);
    if (!status.ok()) return ReportRpcError(status, a.server);
    for (const auto& job : response.jobs()) {
      if (static_cast<int>(jobs.size()) < a.limit) jobs.push_back(job);
    }
    if (response.next_page_token().empty() || response.jobs().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (a.json) {
    for (const auto& job : jobs) PrintJsonLine(job);
    return kExitOk;
  }
  std::printf("%-36s  %-9s  %-8s  %-12s  %-20s  %s\n", "JOB", "STATE", "LEVEL", "TARGET", "CREATED",
              "PROGRESS");
  for (const auto& job : jobs) {
    const auto& p = job.progress();
    std::string progress = "-";
    if (job.state() == api::JOB_STATE_RUNNING && p.pass_count() > 0) {
      progress = PassProgressText(p);
    } else if (job.state() == api::JOB_STATE_SUCCEEDED) {
      progress = std::to_string(job.report().nodes_before()) + " -> " +
                 std::to_string(job.report().nodes_after()) + " nodes";
    } else if (job.has_error() && !job.error().code().empty()) {
      progress = job.error().code();
    }
    const std::string target = job.options().target().empty() ? "generic" : job.options().target();
    std::printf("%-36s  %-9s  %-8s  %-12s  %-20s  %s\n", job.id().c_str(),
                JobStateName(job.state()).c_str(), LevelName(job.options().level()).c_str(),
                target.c_str(), FormatTimestamp(job.created_at()).c_str(), progress.c_str());
  }
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<JobsArgs>();
  auto deleting = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("jobs", "list the jobs of graphopt-server, newest first");
  AddServerOption(cmd, &a->server);
  cmd->add_option("--state", a->state, "queued|running|succeeded|failed|cancelled");
  cmd->add_option("--label", a->selector, "label selector: k=v,k!=v,k,!k (all must hold)");
  cmd->add_option("--model-name", a->model_name, "only jobs of models with this name");
  cmd->add_option("--since", a->since, "only jobs created within this long: 30m, 12h, 7d");
  cmd->add_option("--limit", a->limit, "at most this many jobs (default 50)");
  cmd->add_flag("--json", a->json, "print one JSON line per job");
  // `jobs list` is `jobs`; its options belong to `jobs`.
  cmd->add_subcommand("list", "the same as `graphopt jobs`")->fallthrough();
  CLI::App* del = cmd->add_subcommand(
      "delete", "delete a finished job, its events and (once unshared) its artifacts");
  del->add_option("job_id", a->job_id, "the job")->required();
  del->fallthrough();
  del->callback([deleting] { *deleting = true; });
  return [a, deleting] { return *deleting ? RunJobsDelete(*a) : RunJobs(*a); };
};

GRAPHOPT_REGISTER_COMMAND("jobs", 64, Setup);

}  // namespace

}  // namespace graphopt::cli
