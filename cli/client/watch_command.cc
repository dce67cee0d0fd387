// `graphopt watch JOB`: follow a job's progress until it finishes; the exit code says how.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace {

struct WatchArgs {
  std::string server, job_id;
  bool json = false;
};

int RunWatch(const WatchArgs& a) {
  auto stub = MakeStub(a.server);
  api::Job job;
  if (int rc = FollowJob(*stub, a.server, a.job_id, /*quiet=*/a.json, a.json, &job);
      rc != kExitOk) {
    return rc;
  }
  if (!a.json) std::cout << JobStateName(job.state()) << "\n";
  return ExitCodeForJob(job);
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "follow a job until it finishes (exit 0 succeeded, 1 verification failed, 2 other)");
  cmd->add_option("job", a->job_id, "job id")->required();
  AddServerOption(cmd, &a->server);
  cmd->add_flag("--json", a->json, "print every event as a JSON line instead of progress");
  return [a] { return RunWatch(*a); };
};

GRAPHOPT_REGISTER_COMMAND("watch", 62, Setup);

}  // namespace

}  // namespace graphopt::cli
