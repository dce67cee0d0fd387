// End to end: what open streams see when the server is told to stop. Readiness turns NOT_SERVING
// first (a Health.Watch sees it), calls are served through the drain delay, then WatchJob and
// Health.Watch streams end with UNAVAILABLE while running jobs still drain, and the listener
// closes last.
#include <grpcpp/client_context.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;
using grpc::health::v1::HealthCheckResponse;

// Reads one server stream on its own thread and records how it ended and when.
class StreamEnd {
 public:
  ~StreamEnd() {
    if (thread_.joinable()) {
      context_.TryCancel();
      thread_.join();
    }
  }
  bool ended() const { return ended_.load(); }
  grpc::Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  Clock::time_point ended_at() const {
    std::lock_guard lock(mu_);
    return ended_at_;
  }
  bool WaitEnded(std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    while (!ended() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ended();
  }

 protected:
  // `read` reads messages until the stream ends and returns its status.
  template <typename Read>
  void Run(Read read) {
    thread_ = std::thread([this, read] {
      grpc::Status status = read(&context_);
      std::lock_guard lock(mu_);
      status_ = status;
      ended_at_ = Clock::now();
      ended_ = true;
    });
  }
  grpc::ClientContext context_;

 private:
  mutable std::mutex mu_;
  grpc::Status status_;
  Clock::time_point ended_at_;
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

// grpc.health.v1.Health/Watch of the whole server, keeping every status it receives.
class HealthWatchStream : public StreamEnd {
 public:
  explicit HealthWatchStream(std::shared_ptr<grpc::Channel> channel)
      : stub_(grpc::health::v1::Health::NewStub(std::move(channel))) {
    Run([this](grpc::ClientContext* context) {
      grpc::health::v1::HealthCheckRequest request;
      auto reader = stub_->Watch(context, request);
      HealthCheckResponse response;
      while (reader->Read(&response)) {
        std::lock_guard lock(statuses_mu_);
        statuses_.push_back(response.status());
      }
      return reader->Finish();
    });
  }
  // Waits until `status` has been received (true) or the time runs out.
  bool WaitFor(HealthCheckResponse::ServingStatus status, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      {
        std::lock_guard lock(statuses_mu_);
        for (auto s : statuses_) {
          if (s == status) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  std::mutex statuses_mu_;
  std::vector<HealthCheckResponse::ServingStatus> statuses_;
};

class WatchJobStream : public StreamEnd {
 public:
  WatchJobStream(std::shared_ptr<grpc::Channel> channel, const std::string& job_id)
      : stub_(v1::OptimizerService::NewStub(std::move(channel))) {
    Run([this, job_id](grpc::ClientContext* context) {
      v1::WatchJobRequest request;
      request.set_job_id(job_id);
      auto reader = stub_->WatchJob(context, request);
      v1::JobEvent event;
      while (reader->Read(&event)) events_.fetch_add(1);
      return reader->Finish();
    });
  }
  int events() const { return events_.load(); }

 private:
  std::unique_ptr<v1::OptimizerService::Stub> stub_;
  std::atomic<int> events_{0};
};

TEST_F(ServerE2eTest, SigtermEndsOpenStreamsAfterDrainDelayWhileJobsStillDrain) {
  // A job slow enough to still be running when the streams end (1 s per pass boundary), and a
  // grace period that would hold any stream left open for 8 s more.
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--debug-pass-delay-ms", "1000",
                                                 "--drain-delay", "3", "--grace-period", "8"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 3), &model).ok());
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &job).ok());
  ASSERT_TRUE(WaitForRunningPass(*stub, job.id()));

  HealthWatchStream health(server->channel());
  WatchJobStream watch(server->channel(), job.id());
  ASSERT_TRUE(health.WaitFor(HealthCheckResponse::SERVING, std::chrono::seconds(10)));
  for (int i = 0; i < 500 && watch.events() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(watch.events(), 0);

  const auto signalled = Clock::now();
  server->SendTerminate();
  // Readiness flips first: the open watch is told NOT_SERVING, and Check says so too...
  ASSERT_TRUE(health.WaitFor(HealthCheckResponse::NOT_SERVING, std::chrono::seconds(2)))
      << server->Log();
  EXPECT_EQ(HealthStatus(server->channel()), 2);
  // ...while calls are still answered during the drain delay, streams still open.
  ASSERT_LT(Clock::now() - signalled, std::chrono::milliseconds(2500));
  v1::Job during;
  grpc::Status got = GetJob(*stub, job.id(), &during);
  EXPECT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(during.state(), v1::JOB_STATE_RUNNING);
  EXPECT_FALSE(health.ended());
  EXPECT_FALSE(watch.ended());

  // Once the delay is over both streams end with UNAVAILABLE, long before the grace period.
  ASSERT_TRUE(health.WaitEnded(std::chrono::seconds(6))) << server->Log();
  ASSERT_TRUE(watch.WaitEnded(std::chrono::seconds(2))) << server->Log();
  EXPECT_TRUE(server->Running()) << "the streams ended only because the process exited";
  EXPECT_EQ(health.status().error_code(), grpc::StatusCode::UNAVAILABLE)
      << health.status().error_message();
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::UNAVAILABLE)
      << watch.status().error_message();
  EXPECT_NE(watch.status().error_message().find("watch again"), std::string::npos)
      << watch.status().error_message();
  EXPECT_GE(health.ended_at() - signalled, std::chrono::milliseconds(2900));
  EXPECT_LT(health.ended_at() - signalled, std::chrono::seconds(6));
  EXPECT_LT(watch.ended_at() - signalled, std::chrono::seconds(6));

  // The listener is still up while the job drains: Check answers NOT_SERVING, unary calls are
  // served, and a new watch is refused with UNAVAILABLE at once instead of hanging.
  EXPECT_EQ(HealthStatus(server->channel()), 2);
  ASSERT_TRUE(GetJob(*stub, job.id(), &during).ok());
  EXPECT_EQ(during.state(), v1::JOB_STATE_RUNNING);
  WatchJobStream late(server->channel(), job.id());
  ASSERT_TRUE(late.WaitEnded(std::chrono::seconds(5)));
  EXPECT_EQ(late.status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(late.events(), 0);
  HealthWatchStream late_health(server->channel());
  ASSERT_TRUE(late_health.WaitEnded(std::chrono::seconds(5)));
  EXPECT_EQ(late_health.status().error_code(), grpc::StatusCode::UNAVAILABLE);

  EXPECT_EQ(server->WaitForExit(), 0) << server->Log();
  const std::string log = server->Log();
  EXPECT_NE(log.find("streams_ended"), std::string::npos) << log;
  EXPECT_NE(log.find("job_requeued"), std::string::npos) << log;
}

}  // namespace
}  // namespace graphopt::testing
