#include "server/worker/job_worker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>

#include "optimizer/util/memory_limit.h"
#include "server/jobs/pipeline_job_runner.h"
#include "server/worker/worker_protocol.h"

namespace graphopt::server {

bool IsWorkerInvocation(const std::vector<std::string>& args) {
  return !args.empty() && args[0] == "--worker";
}

int RunJobWorker(const std::vector<std::string>& args) {
  // Dies with the server thread that spawned it: an orphan must not keep running a job the
  // server has re-queued.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  long long max_memory = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--max-memory" && i + 1 < args.size()) {
      max_memory = std::atoll(args[++i].c_str());
    } else {
      std::fprintf(stderr, "graphopt worker: unknown argument %s\n", args[i].c_str());
      return 2;
    }
  }
  // Past the limit an allocation exits with kOutOfMemoryExit, which the server reports as
  // "exceeded --job-max-memory".
  if (Status limited = LimitAddressSpace(max_memory); !limited.ok()) {
    std::fprintf(stderr, "graphopt worker: %s\n", limited.ToString().c_str());
    return 2;
  }

  const std::string input{std::istreambuf_iterator<char>(std::cin),
                          std::istreambuf_iterator<char>()};
  RunRequest request;
  Status decoded = DecodeWorkerRequest(input, &request);
  if (!decoded.ok()) {
    return WriteAll(kWorkerMessageFd, EncodeResultMessage(std::move(decoded))) ? 0 : 1;
  }
  request.on_progress = [](const RunProgress& progress) {
    // A server that stopped listening kills this process; nothing to do about a failed write.
    (void)WriteAll(kWorkerMessageFd, EncodeProgressMessage(progress));
  };
  // The server stops a worker by killing it, whatever it is doing: nothing to poll here.
  request.cancelled = nullptr;

  auto runner = MakePipelineJobRunner();
  Result<RunOutcome> result = Internal("the job did not run");
  try {
    result = runner->Run(request);
  } catch (const std::exception& e) {
    result = Internal(std::string("the optimizer threw an exception: ") + e.what());
  } catch (...) {
    result = Internal("the optimizer threw an unknown exception");
  }
  return WriteAll(kWorkerMessageFd, EncodeResultMessage(std::move(result))) ? 0 : 1;
}

}  // namespace graphopt::server
