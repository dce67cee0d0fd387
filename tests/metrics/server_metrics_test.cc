// The graphopt metric set: each event method moves the series it names, and nothing else.
#include "server/metrics/metrics.h"

#include "server/metrics/build_info.h"

#include <gtest/gtest.h>

#include <string>

namespace graphopt::metrics {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(ServerMetrics, EventsMoveTheirSeries) {
  ServerMetrics m;
  m.JobStateEntered("queued", "basic", "generic");
  m.JobStateEntered("queued", "basic", "generic");
  m.JobStateEntered("succeeded", "basic", "generic");
  m.JobFinished("basic", "generic", "succeeded", 0.3);
  m.PassFinished("fold_constants", 0.002, true);
  m.PassFinished("fold_constants", 0.004, false);
  m.PassFinished("eliminate_identity", 0.0001, false);
  m.NodesRemoved(7);
  m.NodesRemoved(-3);  // a graph that grew removes nothing
  m.VerificationFailed();
  m.SetQueueDepth(4);
  m.SetWorkers(2);
  m.WorkerStarted();
  m.WorkerStarted();
  m.WorkerFinished();
  m.UploadBytesReceived(1 << 20);
  m.UploadBytesReceived(10);
  m.GrpcRequestFinished("CreateJob", "unary", 0, 0.003);
  m.GrpcRequestFinished("GetJob", "unary", 5, 0.001);
  m.GrpcRequestFinished("GetJob", "unary", "NOT_FOUND", 0.002);
  m.GrpcRequestFinished("WatchJob", "server_stream", "OK", 42);

  const std::string text = m.RenderText();
  for (const std::string line : {
           "graphopt_jobs_total{state=\"queued\",level=\"basic\",target=\"generic\"} 2",
           "graphopt_jobs_total{state=\"succeeded\",level=\"basic\",target=\"generic\"} 1",
           "graphopt_job_duration_seconds_bucket{level=\"basic\",target=\"generic\","
           "outcome=\"succeeded\",le=\"0.25\"} 0",
           "graphopt_job_duration_seconds_bucket{level=\"basic\",target=\"generic\","
           "outcome=\"succeeded\",le=\"0.5\"} 1",
           "graphopt_job_duration_seconds_count{level=\"basic\",target=\"generic\","
           "outcome=\"succeeded\"} 1",
           "graphopt_pass_duration_seconds_count{pass=\"fold_constants\"} 2",
           "graphopt_pass_duration_seconds_bucket{pass=\"fold_constants\",le=\"0.0025\"} 1",
           "graphopt_pass_applied_total{pass=\"fold_constants\"} 1",
           "graphopt_pass_applied_total{pass=\"eliminate_identity\"} 0",
           "graphopt_nodes_removed_total 7",
           "graphopt_verification_failures_total 1",
           "graphopt_queue_depth 4",
           "graphopt_workers 2",
           "graphopt_workers_busy 1",
           "graphopt_upload_bytes_total 1048586",
           "graphopt_grpc_requests_total{method=\"CreateJob\",grpc_type=\"unary\",code=\"OK\"} 1",
           "graphopt_grpc_requests_total{method=\"GetJob\",grpc_type=\"unary\","
           "code=\"NOT_FOUND\"} 2",
           "graphopt_grpc_request_duration_seconds_count{method=\"GetJob\",grpc_type=\"unary\"} 2",
           "graphopt_grpc_request_duration_seconds_count{method=\"WatchJob\","
           "grpc_type=\"server_stream\"} 1",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  // Exactly these label sets exist: nothing was created as a side effect.
  EXPECT_EQ(text.find("state=\"running\""), std::string::npos);
  EXPECT_EQ(text.find("graphopt_grpc_requests_total{method=\"GetJob\",grpc_type=\"unary\","
                      "code=\"OK\"}"),
            std::string::npos);
}

TEST(ServerMetrics, OutcomeSeriesExistAtZeroBeforeAnyJob) {
  ServerMetrics m;
  m.PrecreateSeries({"basic", "extended"}, {"generic", "cpu"});
  const std::string text = m.RenderText();
  for (const std::string line : {
           "graphopt_jobs_total{state=\"failed\",level=\"basic\",target=\"generic\"} 0",
           "graphopt_jobs_total{state=\"succeeded\",level=\"extended\",target=\"cpu\"} 0",
           "graphopt_jobs_total{state=\"cached\",level=\"extended\",target=\"generic\"} 0",
           "graphopt_jobs_requeued_total{reason=\"lease_expired\"} 0",
           "graphopt_store_errors_total{operation=\"finish_job\"} 0",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << line << "\n" << text;
  }
  // Pre-creating adds no count, and a later event moves only its own series.
  m.JobStateEntered("failed", "basic", "cpu");
  m.JobsRequeued("shutdown", 2);
  m.JobsRequeued("restart", 0);
  m.StoreError("append_event");
  const std::string after = m.RenderText();
  EXPECT_TRUE(HasLine(after, "graphopt_jobs_total{state=\"failed\",level=\"basic\",target=\"cpu\"} 1"));
  EXPECT_TRUE(HasLine(after, "graphopt_jobs_total{state=\"failed\",level=\"basic\",target=\"generic\"} 0"));
  EXPECT_TRUE(HasLine(after, "graphopt_jobs_requeued_total{reason=\"shutdown\"} 2"));
  EXPECT_TRUE(HasLine(after, "graphopt_jobs_requeued_total{reason=\"restart\"} 0"));
  EXPECT_TRUE(HasLine(after, "graphopt_store_errors_total{operation=\"append_event\"} 1"));
}

TEST(ServerMetrics, StoreOperationsAreTimedAndFailuresCounted) {
  ServerMetrics m;
  m.PrecreateSeries({"basic"}, {"generic"});
  EXPECT_TRUE(
      HasLine(m.RenderText(),
              "graphopt_store_operation_duration_seconds_count{operation=\"claim_job\"} 0"));
  m.StoreOperation("claim_job", 0.003, true);
  m.StoreOperation("claim_job", 2.0, false);
  m.StoreOperation("write_probe", 0.0002, true);
  const std::string text = m.RenderText();
  for (const std::string line : {
           "graphopt_store_operation_duration_seconds_count{operation=\"claim_job\"} 2",
           "graphopt_store_operation_duration_seconds_sum{operation=\"claim_job\"} 2.003",
           "graphopt_store_operation_duration_seconds_bucket{operation=\"claim_job\",le=\"0.0025\"}"
           " 0",
           "graphopt_store_operation_duration_seconds_bucket{operation=\"claim_job\",le=\"0.005\"} "
           "1",
           "graphopt_store_operation_duration_seconds_bucket{operation=\"claim_job\",le=\"2.5\"} 2",
           "graphopt_store_errors_total{operation=\"claim_job\"} 1",
           "graphopt_store_operation_duration_seconds_count{operation=\"write_probe\"} 1",
           "graphopt_store_errors_total{operation=\"write_probe\"} 0",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
}

TEST(ServerMetrics, QueueWaitIsAHistogramByLevelAndTarget) {
  ServerMetrics m;
  m.JobQueueWait("basic", "generic", 0.02);
  m.JobQueueWait("basic", "generic", 42);
  m.JobQueueWait("basic", "generic", -1);  // clock skew reads as no wait, not a negative one
  const std::string text = m.RenderText();
  EXPECT_TRUE(HasLine(text, "graphopt_job_queue_wait_seconds_bucket{level=\"basic\",target=\"generic\",le=\"0.005\"} 1"));
  EXPECT_TRUE(HasLine(text, "graphopt_job_queue_wait_seconds_bucket{level=\"basic\",target=\"generic\",le=\"0.05\"} 2"));
  EXPECT_TRUE(HasLine(text, "graphopt_job_queue_wait_seconds_bucket{level=\"basic\",target=\"generic\",le=\"30\"} 2"));
  EXPECT_TRUE(HasLine(text, "graphopt_job_queue_wait_seconds_bucket{level=\"basic\",target=\"generic\",le=\"60\"} 3"));
  EXPECT_TRUE(HasLine(text, "graphopt_job_queue_wait_seconds_count{level=\"basic\",target=\"generic\"} 3"));
}

TEST(ServerMetrics, ExportsBuildInfoAndProcessMetrics) {
  ServerMetrics m;
  const std::string text = m.RenderText();
  const BuildInfo info = CurrentBuildInfo();
  EXPECT_FALSE(info.version.empty());
  EXPECT_NE(info.version, "unknown");
  EXPECT_TRUE(HasLine(text, "graphopt_build_info{version=\"" + info.version + "\",build_type=\"" +
                                info.build_type + "\",compiler=\"" + info.compiler + "\"} 1"))
      << text;
  for (const char* name : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  // Gauges without labels are exported from the start; labelled families appear on first use.
  EXPECT_TRUE(HasLine(text, "graphopt_queue_depth 0"));
  EXPECT_EQ(text.find("graphopt_jobs_total{"), std::string::npos);
}

TEST(ServerMetrics, GrpcStatusCodeNames) {
  EXPECT_EQ(GrpcStatusCodeName(0), "OK");
  EXPECT_EQ(GrpcStatusCodeName(1), "CANCELLED");
  EXPECT_EQ(GrpcStatusCodeName(3), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcStatusCodeName(8), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcStatusCodeName(14), "UNAVAILABLE");
  EXPECT_EQ(GrpcStatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcStatusCodeName(17), "UNKNOWN");
  EXPECT_EQ(GrpcStatusCodeName(-1), "UNKNOWN");
}

}  // namespace
}  // namespace graphopt::metrics
