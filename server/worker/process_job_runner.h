// The JobRunner of --isolation process: each job runs in a fresh worker process
// (`graphopt-server --worker`, job_worker.h) with an address-space limit, so a crash, an abort
// or an out-of-memory fails that job alone, and the server stops a job whatever it is doing
// by killing its worker (cancel, --job-timeout, shutdown, a lost lease).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/jobs/job_runner.h"

namespace graphopt::server {

struct WorkerProcessOptions {
  std::string executable = "/proc/self/exe";  // a binary that understands --worker
  int64_t max_memory_bytes = 0;               // RLIMIT_AS of each worker; 0: none
  bool debug_abort_op = false;                // tests: workers get graphopt.test::Abort
  int poll_ms = 20;                           // how often a running job's stop request is read
};

// `in_process` answers Validate and Version (cheap, and the same binary as the workers).
std::unique_ptr<JobRunner> MakeProcessJobRunner(WorkerProcessOptions options,
                                                std::unique_ptr<JobRunner> in_process);

// "SIGSEGV" for SIGSEGV, "signal 42" for one without a name here.
std::string SignalName(int signal_number);

}  // namespace graphopt::server
