// What a watcher of one job receives: the job as it is when watching starts (a snapshot event),
// then every later event with the job as it is after it.
#pragma once

#include <functional>

#include "server/store/job_record.h"

namespace graphopt::server {

// Called under the deliverer's lock: it must be quick and must not call back into the manager.
using JobListener =
    std::function<void(const JobEventRecord& event, const JobRecord& job, bool snapshot)>;

// The snapshot event that opens a watch of `job`.
JobEventRecord SnapshotEvent(const JobRecord& job);

}  // namespace graphopt::server
