// `promtool check metrics` (Prometheus' own parser and linter) accepts our exposition.
#include <gtest/gtest.h>

#include <fstream>

#include "server/metrics/metrics.h"
#include "support/test_support.h"

namespace graphopt::metrics {
namespace {

bool HavePromtool() { return testing::RunCommand("command -v promtool") == 0; }

// Exit code and combined output of promtool on `text`.
int Promtool(const std::string& text, std::string* output) {
  const std::string file = testing::TempDir() + "/metrics.txt";
  std::ofstream(file) << text;
  std::string out, err;
  const int rc = testing::RunCommand("promtool check metrics < " + file, &out, &err);
  *output = out + err;
  return rc;
}

TEST(Promtool, AcceptsTheFullServerExposition) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed (Debian package 'prometheus')";
  ServerMetrics m;
  // Every family gets samples, including awkward label values.
  m.JobStateEntered("queued", "basic", "generic");
  m.JobStateEntered("failed", "extended", "ort-cpu \"quoted\"\\path\nnewline");
  m.JobFinished("basic", "generic", "succeeded", 1.25);
  m.PassFinished("fuse_bn_into_conv", 0.01, true);
  m.NodesRemoved(3);
  m.VerificationFailed();
  m.SetQueueDepth(2);
  m.SetWorkers(4);
  m.WorkerStarted();
  m.UploadBytesReceived(12345);
  m.GrpcRequestFinished("UploadModel", "client_stream", 8, 0.5);
  std::string output;
  const std::string text = m.RenderText();
  EXPECT_EQ(Promtool(text, &output), 0) << output << "\n--- exposition ---\n" << text;
  EXPECT_EQ(output, "") << "promtool lint findings:\n" << output;
}

// The check above can fail: promtool does flag a badly named counter and broken syntax.
TEST(Promtool, RejectsWhatItShouldReject) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed (Debian package 'prometheus')";
  Registry r;
  r.AddCounter("graphopt_requests", "Missing the _total suffix.").Get().Increment();
  std::string output;
  EXPECT_NE(Promtool(r.RenderText(), &output), 0);
  EXPECT_NE(output.find("_total"), std::string::npos) << output;
  EXPECT_NE(Promtool("graphopt_x{ 1\n", &output), 0);
}

}  // namespace
}  // namespace graphopt::metrics
