// ProgressEventWriter: stores the progress events (pass, verifying) of jobs running on this
// replica in a shared store without making the workers wait for the database. Events are queued
// and written in order by one thread, many rows per statement; Flush() waits until everything
// queued so far is written, so a job's terminal event (written with its state) always follows its
// progress. A job emits tens of these; written one at a time on the worker's path they cost a
// third of a small job's throughput (docs/PERFORMANCE.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "server/store/leased_job_store.h"

namespace graphopt::server {

class ProgressEventWriter {
 public:
  explicit ProgressEventWriter(LeasedJobStore& store);
  ~ProgressEventWriter();  // writes what is queued, then stops
  ProgressEventWriter(const ProgressEventWriter&) = delete;
  ProgressEventWriter& operator=(const ProgressEventWriter&) = delete;

  void Add(JobEventRecord event);
  // Returns once every event added before the call is written (or its write failed).
  void Flush();

 private:
  void Loop();

  LeasedJobStore& store_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<JobEventRecord> queue_;
  uint64_t added_ = 0;    // events ever added
  uint64_t written_ = 0;  // events ever taken from the queue and written (or dropped on error)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace graphopt::server
