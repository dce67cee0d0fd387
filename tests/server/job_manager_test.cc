// JobManager with a scripted JobRunner: cancellation of a running job, time limits, a crashing
// job that does not take the others down, watchers, and recovery after a restart.
#include "server/jobs/job_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "server/store/file_blob_store.h"
#include "server/store/sqlite_job_store.h"
#include "support/scripted_job_runner.h"
#include "support/test_support.h"

namespace graphopt::server {
namespace {

using namespace std::chrono_literals;

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = graphopt::testing::TempDir();
    Open();
    auto writer = blobs_->NewWriter();
    ASSERT_TRUE((*writer)->Append("model-bytes").ok());
    model_digest_ = (*writer)->Commit()->digest;
    ASSERT_TRUE(jobs_->PutModel({model_digest_, "m.onnx", 11, 1, NowMillis()}).ok());
  }
  void Open() {
    jobs_ = std::move(SqliteJobStore::Open(dir_ + "/jobs.db")).value();
    blobs_ = std::move(FileBlobStore::Create(dir_ + "/blobs")).value();
  }
  std::unique_ptr<JobManager> NewManager(int workers = 1, std::chrono::milliseconds timeout = 0ms) {
    JobManagerOptions options;
    options.workers = workers;
    options.queue_capacity = 16;
    options.job_timeout = timeout;
    options.work_dir = dir_ + "/work";
    return std::make_unique<JobManager>(*jobs_, *blobs_, runner_, nullptr, options);
  }
  CreateJobParams Params(const std::string& mode, bool fresh = true) {
    CreateJobParams p;
    p.model_digest = model_digest_;
    p.options.target = mode;
    p.fresh = fresh;
    return p;
  }
  JobRecord WaitDone(JobManager& manager, const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto job = manager.GetJob(id);
      if (job.ok() && IsTerminal(job->state)) return *job;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }
  bool WaitRunning(JobManager& manager, const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto job = manager.GetJob(id);
      if (job.ok() && job->state == JobState::kRunning && !job->progress.pass_name.empty())
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<SqliteJobStore> jobs_;
  std::unique_ptr<FileBlobStore> blobs_;
  ScriptedRunner runner_;
  std::string model_digest_;
};

TEST_F(JobManagerTest, SucceededJobStoresArtifactAndReport) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto job = manager->CreateJob(Params("ok"));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  JobRecord done = WaitDone(*manager, job->id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error_message;
  auto reader = blobs_->Open(done.artifact_digest);
  ASSERT_TRUE(reader.ok());
  std::string bytes(64, '\0');
  bytes.resize((*reader)->Read(bytes.data(), bytes.size()).value());
  EXPECT_EQ(bytes, "optimized:model-bytes");
  EXPECT_EQ(done.nodes_after, 3);
  EXPECT_TRUE(blobs_->Contains(done.report_digest));
  auto events = jobs_->ListEvents(job->id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);  // queued, started, succeeded are stored
  EXPECT_EQ(events->back().type, JobEventType::kSucceeded);
}

TEST_F(JobManagerTest, RejectsBadRequestsWithCodes) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto bad_level = Params("ok");
  bad_level.options.level = "bogus";
  EXPECT_EQ(manager->CreateJob(bad_level).status().code(), StatusCode::kInvalidArgument);
  auto unknown = Params("ok");
  unknown.model_digest = "sha256:" + std::string(64, 'f');
  EXPECT_EQ(manager->CreateJob(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager->GetJob("job-x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager->CancelJob("job-x").status().code(), StatusCode::kNotFound);
}

TEST_F(JobManagerTest, CancellingARunningJobStopsItAtThePassBoundary) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto job = manager->CreateJob(Params("block"));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(WaitRunning(*manager, job->id));
  auto cancel = manager->CancelJob(job->id);
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(cancel->state, JobState::kRunning);  // asked to stop; stops at the boundary
  JobRecord done = WaitDone(*manager, job->id);
  EXPECT_EQ(done.state, JobState::kCancelled);
  EXPECT_EQ(manager->CancelJob(job->id).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(JobManagerTest, TimeLimitFailsTheJobWithDeadlineExceeded) {
  auto manager = NewManager(1, 100ms);
  ASSERT_TRUE(manager->Start().ok());
  auto job = manager->CreateJob(Params("block"));
  ASSERT_TRUE(job.ok());
  JobRecord done = WaitDone(*manager, job->id);
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_EQ(done.error_code, "DEADLINE_EXCEEDED");
}

TEST_F(JobManagerTest, AThrowingJobFailsAloneAndTheNextOneRuns) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto crash = manager->CreateJob(Params("throw"));
  auto verify_fail = manager->CreateJob(Params("fail"));
  auto fine = manager->CreateJob(Params("ok"));
  ASSERT_TRUE(crash.ok() && verify_fail.ok() && fine.ok());
  JobRecord crashed = WaitDone(*manager, crash->id);
  EXPECT_EQ(crashed.state, JobState::kFailed);
  EXPECT_EQ(crashed.error_code, "INTERNAL");
  EXPECT_NE(crashed.error_message.find("kernel exploded"), std::string::npos);
  JobRecord failed = WaitDone(*manager, verify_fail->id);
  EXPECT_EQ(failed.error_code, "FAILED_PRECONDITION");
  EXPECT_EQ(WaitDone(*manager, fine->id).state, JobState::kSucceeded);
}

TEST_F(JobManagerTest, WatcherGetsSnapshotThenEveryEventInOrder) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto blocker = manager->CreateJob(Params("block"));
  ASSERT_TRUE(WaitRunning(*manager, blocker->id));
  auto job = manager->CreateJob(Params("ok"));  // waits behind the blocker
  ASSERT_TRUE(job.ok());

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<JobEventType, bool>> seen;
  std::vector<std::string> passes;
  bool finished = false;
  auto subscription =
      manager->Watch(job->id, [&](const JobEventRecord& e, const JobRecord& j, bool snapshot) {
        std::lock_guard lock(mu);
        seen.push_back({e.type, snapshot});
        if (e.type == JobEventType::kPass) passes.push_back(e.progress.pass_name);
        if (IsTerminal(j.state)) finished = true;
        cv.notify_all();
      });
  ASSERT_TRUE(subscription.ok());
  ASSERT_TRUE(manager->CancelJob(blocker->id).ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return finished; }));
  }
  ASSERT_GE(seen.size(), 6u);
  EXPECT_TRUE(seen.front().second);  // snapshot first
  EXPECT_EQ(seen.front().first, JobEventType::kQueued);
  EXPECT_EQ(seen[1].first, JobEventType::kStarted);
  EXPECT_EQ(passes, (std::vector<std::string>{"pass_1", "pass_2", "pass_3"}));
  EXPECT_EQ(seen[seen.size() - 2].first, JobEventType::kVerifying);
  EXPECT_EQ(seen.back().first, JobEventType::kSucceeded);

  // A late watcher of a finished job gets its final state and nothing else.
  int calls = 0;
  auto late =
      manager->Watch(job->id, [&](const JobEventRecord& e, const JobRecord& j, bool snapshot) {
        ++calls;
        EXPECT_TRUE(snapshot);
        EXPECT_EQ(j.state, JobState::kSucceeded);
      });
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(manager->Watch("job-none", [](auto&, auto&, bool) {}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(JobManagerTest, IdempotencyAndResultCache) {
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  auto keyed = Params("ok", /*fresh=*/false);
  keyed.idempotency_key = "k1";
  auto first = manager->CreateJob(keyed);
  auto retry = manager->CreateJob(keyed);
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_EQ(first->id, retry->id);
  auto conflicting = keyed;
  conflicting.options.level = "extended";
  EXPECT_EQ(manager->CreateJob(conflicting).status().code(), StatusCode::kFailedPrecondition);
  JobRecord done = WaitDone(*manager, first->id);
  ASSERT_EQ(done.state, JobState::kSucceeded);
  const int runs = runner_.runs.load();

  auto cached = manager->CreateJob(Params("ok", /*fresh=*/false));
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->state, JobState::kSucceeded);
  EXPECT_EQ(cached->cached_from_job_id, first->id);
  EXPECT_EQ(cached->artifact_digest, done.artifact_digest);
  EXPECT_EQ(runner_.runs.load(), runs);  // nothing ran

  auto fresh = manager->CreateJob(Params("ok", /*fresh=*/true));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(WaitDone(*manager, fresh->id).state, JobState::kSucceeded);
  EXPECT_EQ(runner_.runs.load(), runs + 1);
}

TEST_F(JobManagerTest, RestartRequeuesRunningAndKeepsQueuedJobs) {
  std::string running_id, queued_id;
  {
    auto manager = NewManager();
    ASSERT_TRUE(manager->Start().ok());
    auto running = manager->CreateJob(Params("block"));
    auto queued = manager->CreateJob(Params("ok"));
    ASSERT_TRUE(running.ok() && queued.ok());
    running_id = running->id;
    queued_id = queued->id;
    ASSERT_TRUE(WaitRunning(*manager, running_id));
    // Graceful stop with no grace: the running job goes back to the queue.
    EXPECT_TRUE(manager->Shutdown(0ms));
    EXPECT_EQ(jobs_->GetJob(running_id)->state, JobState::kQueued);
    EXPECT_EQ(jobs_->GetJob(queued_id)->state, JobState::kQueued);
  }
  // Simulate a crash mid-run as well: the store says RUNNING.
  JobRecord crashed = jobs_->GetJob(running_id).value();
  crashed.state = JobState::kRunning;
  crashed.options.target = "ok";  // let it finish this time
  ASSERT_TRUE(jobs_->UpdateJob(crashed).ok());
  jobs_.reset();
  blobs_.reset();
  Open();
  auto manager = NewManager();
  ASSERT_TRUE(manager->Start().ok());
  EXPECT_EQ(WaitDone(*manager, running_id).state, JobState::kSucceeded);
  EXPECT_EQ(WaitDone(*manager, queued_id).state, JobState::kSucceeded);
  EXPECT_EQ(manager->GetJob(running_id)->attempts, 2);
  auto events = jobs_->ListEvents(running_id);
  ASSERT_TRUE(events.ok());
  int requeued = 0;
  for (const auto& e : *events) requeued += e.type == JobEventType::kRequeued;
  EXPECT_EQ(requeued, 2);  // once at shutdown, once at the restart
}

// Poison jobs: one that was running at every one of the last --max-attempts stops is failed at
// the next start with the reason; one with attempts left runs after the jobs that never ran.
TEST_F(JobManagerTest, PoisonJobsFailAtMaxAttemptsAndRetriesWaitBehindOthers) {
  std::string poison_id, retried_id, fresh_id;
  {
    auto manager = NewManager();
    ASSERT_TRUE(manager->Start().ok());
    auto poison = manager->CreateJob(Params("block"));
    auto retried = manager->CreateJob(Params("ok"));
    auto fresh = manager->CreateJob(Params("ok"));
    ASSERT_TRUE(poison.ok() && retried.ok() && fresh.ok());
    poison_id = poison->id;
    retried_id = retried->id;
    fresh_id = fresh->id;
    ASSERT_TRUE(WaitRunning(*manager, poison_id));
    EXPECT_TRUE(manager->Shutdown(0ms));
  }
  // As a crash leaves them: the poison job running for the 2nd time, the retried one once.
  JobRecord poison = jobs_->GetJob(poison_id).value();
  poison.state = JobState::kRunning;
  poison.attempts = 2;
  ASSERT_TRUE(jobs_->UpdateJob(poison).ok());
  JobRecord retried = jobs_->GetJob(retried_id).value();
  retried.state = JobState::kRunning;
  retried.attempts = 1;
  ASSERT_TRUE(jobs_->UpdateJob(retried).ok());
  jobs_.reset();
  blobs_.reset();
  Open();
  JobManagerOptions options;
  options.workers = 1;
  options.queue_capacity = 16;
  options.work_dir = dir_ + "/work";
  options.max_attempts = 2;
  JobManager manager(*jobs_, *blobs_, runner_, nullptr, options);
  ASSERT_TRUE(manager.Start().ok());
  const JobRecord failed = WaitDone(manager, poison_id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.error_code, "INTERNAL");
  EXPECT_NE(failed.error_message.find("2 times (--max-attempts 2)"), std::string::npos)
      << failed.error_message;
  const JobRecord retried_done = WaitDone(manager, retried_id);
  const JobRecord fresh_done = WaitDone(manager, fresh_id);
  EXPECT_EQ(retried_done.state, JobState::kSucceeded);
  EXPECT_EQ(fresh_done.state, JobState::kSucceeded);
  EXPECT_EQ(retried_done.attempts, 2);
  // The job that ran before waited behind the one that never did (one worker: strictly after).
  EXPECT_GE(retried_done.started_at_ms, fresh_done.finished_at_ms);
}

}  // namespace
}  // namespace graphopt::server
