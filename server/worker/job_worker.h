// The worker process that runs one job: `graphopt-server --worker [--max-memory BYTES]`, spawned
// by ProcessJobRunner. It limits its own address space, reads the job's RunRequest from stdin,
// runs the pipeline (the same PipelineJobRunner as thread isolation), and reports progress and
// the result on fd 3 (worker_protocol.h).
#pragma once

#include <string>
#include <vector>

namespace graphopt::server {

// True when `args` (the server's arguments, without the program name) ask for worker mode.
bool IsWorkerInvocation(const std::vector<std::string>& args);
// Runs the worker; the process' exit code.
int RunJobWorker(const std::vector<std::string>& args);

}  // namespace graphopt::server
