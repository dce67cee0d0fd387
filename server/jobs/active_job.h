// A job this process holds, queued or running: its live record, the reason it should stop, and
// the watchers that follow it here. Shared by JobManager and its queue strategies.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>

#include "server/jobs/job_listener.h"
#include "server/store/job_record.h"

namespace graphopt::server {

// Why a running job should stop at its next pass boundary. kStopLost: the job is no longer this
// replica's to finish (cancelled in the shared store, or its lease was lost); the worker stops
// and writes nothing.
enum JobStopReason : int {
  kNoStop = 0,
  kStopUser = 1,
  kStopShutdown = 2,
  kStopTimeout = 3,
  kStopLost = 4
};

struct ActiveJob {
  JobRecord record;
  std::atomic<int> stop{kNoStop};
  std::map<int64_t, JobListener> listeners;

  // Asks the job to stop unless something already did; false when an earlier reason stands.
  bool RequestStop(JobStopReason reason) {
    int expected = kNoStop;
    return stop.compare_exchange_strong(expected, reason);
  }
};

}  // namespace graphopt::server
