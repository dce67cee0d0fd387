// A JobRunner whose behaviour the job's target name chooses, for tests of the job manager alone
// (tests/server with SQLite, tests/postgres with the shared store): "ok" runs three passes and
// writes "optimized:<model bytes>", "block" waits at every pass until cancelled, "fail" fails
// verification, "throw" throws.
#pragma once

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>

#include "server/jobs/job_runner.h"

namespace graphopt::server {

class ScriptedRunner : public JobRunner {
 public:
  Status Validate(const JobOptionsRecord& options) const override {
    return options.level == "bogus" ? InvalidArgument("unknown level") : Status::Ok();
  }
  std::string Version() const override { return "test"; }
  Result<RunOutcome> Run(const RunRequest& request) override {
    ++runs;
    const std::string& mode = request.options.target;
    if (mode == "throw") throw std::runtime_error("kernel exploded");
    if (mode == "fail") return FailedPrecondition("outputs differ");
    for (int pass = 1; pass <= 3; ++pass) {
      request.on_progress({"optimizing", pass, 3, "pass_" + std::to_string(pass)});
      if (mode == "block") {
        while (!request.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (request.cancelled()) return Cancelled("optimization cancelled");
    }
    request.on_progress({"verifying", 0, 0, ""});
    std::ifstream in(request.model_path, std::ios::binary);
    std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(request.output_path, std::ios::binary) << "optimized:" << input;
    RunOutcome outcome;
    outcome.report_json = "{\"ok\":true}";
    outcome.nodes_before = 5;
    outcome.nodes_after = 3;
    outcome.verification_status = "passed";
    outcome.passes = {{"pass_1", 0.01, 1}};
    return outcome;
  }
  std::atomic<int> runs{0};
};

}  // namespace graphopt::server
