// End to end: concurrency, cancellation, idempotency, the result cache, listings and error codes.
#include <atomic>
#include <thread>

#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, EightClientsTenJobsEachAllSucceed) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "2", "--queue-size", "100"});
  ASSERT_TRUE(server);
  constexpr int kClients = 8, kJobsPerClient = 10;
  std::atomic<int> succeeded{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = server->NewStub();  // each client its own stub on the shared channel
      v1::Model model;
      grpc::Status up =
          UploadFile(*stub, WriteTinyModel("client" + std::to_string(c) + ".onnx", c + 1), &model);
      if (!up.ok()) {
        failures[c] = "upload: " + up.error_message();
        return;
      }
      std::vector<std::string> ids;
      for (int j = 0; j < kJobsPerClient; ++j) {
        v1::Job job;
        // fresh: every job really runs instead of being answered from the cache.
        grpc::Status st =
            CreateJob(*stub, JobRequest(model.digest(), "basic", /*fresh=*/true), &job);
        if (!st.ok()) {
          failures[c] = "create: " + st.error_message();
          return;
        }
        ids.push_back(job.id());
      }
      for (const auto& id : ids) {
        v1::Job done = WaitForFinish(*stub, id);
        if (done.state() != v1::JOB_STATE_SUCCEEDED) {
          failures[c] = "job " + id + ": " + done.error().message();
          return;
        }
        std::string artifact;
        if (!Download(*stub, id, v1::ARTIFACT_KIND_MODEL, &artifact).ok() || artifact.empty()) {
          failures[c] = "download of " + id;
          return;
        }
        ++succeeded;
      }
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(failures[c], "") << "client " << c;
  EXPECT_EQ(succeeded.load(), kClients * kJobsPerClient);

  // Every job is listed, page by page, newest first.
  auto stub = server->NewStub();
  std::set<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListJobsRequest request;
    request.set_page_size(30);
    request.set_page_token(token);
    request.set_state(v1::JOB_STATE_SUCCEEDED);
    v1::ListJobsResponse response;
    ASSERT_TRUE(stub->ListJobs(&context, request, &response).ok());
    for (const auto& job : response.jobs()) {
      EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
      listed.insert(job.id());
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(listed.size(), static_cast<size_t>(kClients * kJobsPerClient));
  EXPECT_EQ(pages, 3);
}

TEST_F(ServerE2eTest, CancelQueuedAndRunningJobs) {
  // One worker and slow passes: the first job runs long enough to be cancelled mid-run and the
  // second one waits in the queue.
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--debug-pass-delay-ms", "300"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  v1::Job running, queued;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &running).ok());
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &queued).ok());
  ASSERT_TRUE(WaitForRunningPass(*stub, running.id())) << server->Log();

  v1::Job cancelled;
  ASSERT_TRUE(CancelJob(*stub, queued.id(), &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);  // removed from the queue at once

  ASSERT_TRUE(CancelJob(*stub, running.id(), &cancelled).ok());
  std::vector<v1::JobEvent> events;
  ASSERT_TRUE(WatchJob(*stub, running.id(), &events).ok());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().state(), v1::JOB_STATE_CANCELLED);
  v1::Job after;
  ASSERT_TRUE(GetJob(*stub, running.id(), &after).ok());
  EXPECT_EQ(after.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_TRUE(after.artifact_digest().empty());

  // A finished job cannot be cancelled; a cancelled job has no artifact.
  EXPECT_EQ(CancelJob(*stub, running.id(), &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  std::string bytes;
  EXPECT_EQ(Download(*stub, queued.id(), v1::ARTIFACT_KIND_MODEL, &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // The worker is free again: the next job runs to the end.
  v1::Job next;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "disabled", true), &next).ok());
  EXPECT_EQ(WaitForFinish(*stub, next.id()).state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(ServerE2eTest, IdempotencyKeyAndResultCache) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 3), &model).ok());

  auto request = JobRequest(model.digest());
  request.set_idempotency_key("pipeline-run-42");
  v1::Job first, retry;
  ASSERT_TRUE(CreateJob(*stub, request, &first).ok());
  ASSERT_TRUE(CreateJob(*stub, request, &retry).ok());
  EXPECT_EQ(retry.id(), first.id());  // a retried request does not start a second job

  auto different = JobRequest(model.digest(), "disabled");
  different.set_idempotency_key("pipeline-run-42");
  v1::Job conflict;
  EXPECT_EQ(CreateJob(*stub, different, &conflict).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::Job done = WaitForFinish(*stub, first.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);

  // Same model, same options, no key: answered from the cache, already succeeded.
  v1::Job cached;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest()), &cached).ok());
  EXPECT_NE(cached.id(), first.id());
  EXPECT_EQ(cached.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(cached.cached_from_job_id(), first.id());
  EXPECT_EQ(cached.artifact_digest(), done.artifact_digest());
  std::string a, b;
  ASSERT_TRUE(Download(*stub, cached.id(), v1::ARTIFACT_KIND_MODEL, &a).ok());
  ASSERT_TRUE(Download(*stub, first.id(), v1::ARTIFACT_KIND_MODEL, &b).ok());
  EXPECT_TRUE(a == b);
  // The cached job has the first one's HTML report too.
  ASSERT_TRUE(Download(*stub, cached.id(), v1::ARTIFACT_KIND_REPORT_HTML, &a).ok());
  ASSERT_TRUE(Download(*stub, first.id(), v1::ARTIFACT_KIND_REPORT_HTML, &b).ok());
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b);

  // Priority does not change the result, so it still hits the cache.
  auto urgent = JobRequest(model.digest());
  urgent.mutable_options()->set_priority(5);
  v1::Job urgent_job;
  ASSERT_TRUE(CreateJob(*stub, urgent, &urgent_job).ok());
  EXPECT_EQ(urgent_job.cached_from_job_id(), first.id());

  // Different options miss the cache; fresh bypasses it.
  v1::Job other, fresh;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "disabled"), &other).ok());
  EXPECT_TRUE(other.cached_from_job_id().empty());
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", /*fresh=*/true), &fresh).ok());
  EXPECT_TRUE(fresh.cached_from_job_id().empty());
  v1::Job fresh_done = WaitForFinish(*stub, fresh.id());
  ASSERT_EQ(fresh_done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(fresh_done.artifact_digest(), done.artifact_digest());  // deterministic output
  EXPECT_EQ(WaitForFinish(*stub, other.id()).state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(ServerE2eTest, ErrorsCarryProperCodes) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Job job;
  EXPECT_EQ(GetJob(*stub, "job-doesnotexist", &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CancelJob(*stub, "job-doesnotexist", &job).error_code(), grpc::StatusCode::NOT_FOUND);
  std::vector<v1::JobEvent> events;
  EXPECT_EQ(WatchJob(*stub, "job-doesnotexist", &events).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(events.empty());
  std::string bytes;
  EXPECT_EQ(Download(*stub, "job-doesnotexist", v1::ARTIFACT_KIND_MODEL, &bytes).error_code(),
            grpc::StatusCode::NOT_FOUND);

  const std::string unknown = "sha256:" + std::string(64, 'a');
  grpc::Status st = CreateJob(*stub, JobRequest(unknown), &job);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("UploadModel"), std::string::npos) << st.error_message();
  EXPECT_EQ(CreateJob(*stub, JobRequest("not-a-digest"), &job).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  auto bad_target = JobRequest(model.digest());
  bad_target.mutable_options()->set_target("no-such-runtime");
  EXPECT_EQ(CreateJob(*stub, bad_target, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_pass = JobRequest(model.digest());
  bad_pass.mutable_options()->add_disable_passes("no_such_pass");
  EXPECT_EQ(CreateJob(*stub, bad_pass, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_level = JobRequest(model.digest());
  bad_level.mutable_options()->set_level(static_cast<v1::Level>(42));
  EXPECT_EQ(CreateJob(*stub, bad_level, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext context;
  v1::ListJobsRequest list;
  list.set_page_token("garbage");
  v1::ListJobsResponse response;
  EXPECT_EQ(stub->ListJobs(&context, list, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerE2eTest, FullQueueIsResourceExhaustedAndTimeLimitIsDeadlineExceeded) {
  auto server =
      ServerProcess::Start(DataDir(), {"--workers", "1", "--queue-size", "1",
                                       "--debug-pass-delay-ms", "400", "--job-timeout", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  v1::Job running, waiting, refused;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &running).ok());
  ASSERT_TRUE(WaitForRunningPass(*stub, running.id()));
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &waiting).ok());
  grpc::Status full = CreateJob(*stub, JobRequest(model.digest(), "basic", true), &refused);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();

  // Slowed down, the jobs cannot finish within the one second limit.
  v1::Job timed_out = WaitForFinish(*stub, running.id());
  EXPECT_EQ(timed_out.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(timed_out.error().code(), "DEADLINE_EXCEEDED") << timed_out.error().message();
  EXPECT_EQ(WaitForFinish(*stub, waiting.id()).error().code(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(HealthStatus(server->channel()), 1);
}

}  // namespace
}  // namespace graphopt::testing
