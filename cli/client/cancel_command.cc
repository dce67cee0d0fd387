// `graphopt cancel JOB`: remove a queued job, or stop a running one at its next pass boundary.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace {

struct CancelArgs {
  std::string server, job_id;
};

int RunCancel(const CancelArgs& a) {
  auto stub = MakeStub(a.server);
  api::CancelJobRequest request;
  request.set_job_id(a.job_id);
  api::Job job;
  const grpc::Status status =
      CallUnary(*stub, &api::OptimizerService::Stub::CancelJob, request, &job);
  if (!status.ok()) return ReportRpcError(status, a.server);
  // A running job may still be "running" here: it stops at the next pass boundary.
  std::cout << job.id() << " " << JobStateName(job.state()) << "\n";
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<CancelArgs>();
  CLI::App* cmd = app.add_subcommand("cancel", "cancel a queued or running job");
  cmd->add_option("job", a->job_id, "job id")->required();
  AddServerOption(cmd, &a->server);
  return [a] { return RunCancel(*a); };
};

GRAPHOPT_REGISTER_COMMAND("cancel", 63, Setup);

}  // namespace

}  // namespace graphopt::cli
