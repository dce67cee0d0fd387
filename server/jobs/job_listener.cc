// The snapshot event that opens a watch (see job_listener.h).
#include "server/jobs/job_listener.h"

namespace graphopt::server {

JobEventRecord SnapshotEvent(const JobRecord& job) {
  JobEventRecord snapshot;
  snapshot.job_id = job.id;
  snapshot.time_ms = NowMillis();
  snapshot.state = job.state;
  snapshot.progress = job.progress;
  snapshot.type = job.state == JobState::kQueued    ? JobEventType::kQueued
                  : job.state == JobState::kRunning ? JobEventType::kStarted
                                                    : TerminalEventType(job.state);
  snapshot.error_code = job.error_code;
  snapshot.error_message = job.error_message;
  return snapshot;
}

}  // namespace graphopt::server
