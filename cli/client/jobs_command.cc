// `graphopt jobs`: the server's jobs, newest first, optionally of one state.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace {

struct JobsArgs {
  std::string server, state;
  int limit = 50;
  bool json = false;
};

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
  if (a.limit < 1) {
    std::cerr << "graphopt: --limit must be at least 1\n";
    return kExitError;
  }
  auto stub = MakeStub(a.server);
  std::vector<api::Job> jobs;
  // Page through until `limit` jobs or the last page.
  while (static_cast<int>(jobs.size()) < a.limit) {
    request.set_page_size(std::min(500, a.limit - static_cast<int>(jobs.size())));
    grpc::ClientContext context;
    SetUnaryDeadline(&context);
    api::ListJobsResponse response;
    const grpc::Status status = stub->ListJobs(&context, request, &response);
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
  CLI::App* cmd = app.add_subcommand("jobs", "list the jobs of graphopt-server, newest first");
  AddServerOption(cmd, &a->server);
  cmd->add_option("--state", a->state, "queued|running|succeeded|failed|cancelled");
  cmd->add_option("--limit", a->limit, "at most this many jobs (default 50)");
  cmd->add_flag("--json", a->json, "print one JSON line per job");
  return [a] { return RunJobs(*a); };
};

GRAPHOPT_REGISTER_COMMAND("jobs", 64, Setup);

}  // namespace

}  // namespace graphopt::cli
