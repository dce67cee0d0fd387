// What the server and a job's worker process say to each other. The request goes to the
// worker's stdin as one JSON object; the worker answers on its message fd with one JSON object
// per line: progress events while it runs, then exactly one result (an outcome or an error).
#pragma once

#include <string>

#include "server/jobs/job_runner.h"

namespace graphopt::server {

// The fd a worker writes its messages to (stdout stays free for whatever a library prints).
inline constexpr int kWorkerMessageFd = 3;

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); false when the fd fails.
bool WriteAll(int fd, const std::string& bytes);

std::string EncodeWorkerRequest(const RunRequest& request);
// Fills the request's data fields (not its callbacks).
Status DecodeWorkerRequest(const std::string& json, RunRequest* request);

std::string EncodeProgressMessage(const RunProgress& progress);
std::string EncodeResultMessage(Result<RunOutcome> result);

// One decoded line of a worker's messages.
struct WorkerMessage {
  enum Kind { kProgress, kResult } kind = kProgress;
  RunProgress progress;
  Status status;  // for kResult: the run's error, or ok with `outcome`
  RunOutcome outcome;
};
Result<WorkerMessage> DecodeWorkerMessage(const std::string& line);

}  // namespace graphopt::server
