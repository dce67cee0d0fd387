// A real Prometheus server scrapes our /metrics on loopback and sees a job counter move.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "metrics/child_process.h"
#include "metrics/http_test_client.h"
#include "server/http/metrics_http_server.h"
#include "server/metrics/metrics.h"
#include "support/test_support.h"

namespace graphopt::metrics {
namespace {

using Clock = std::chrono::steady_clock;

// The value of an instant query's first result, if Prometheus has one.
std::optional<std::string> QueryValue(uint16_t prometheus_port, const std::string& promql) {
  const auto r = testing::HttpRequest(prometheus_port, "GET",
                                      "/api/v1/query?query=" + testing::UrlEncode(promql));
  if (r.status != 200) return std::nullopt;
  const auto json = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || json.value("status", "") != "success") return std::nullopt;
  const auto& result = json["data"]["result"];
  if (!result.is_array() || result.empty()) return std::nullopt;
  return result[0]["value"][1].get<std::string>();
}

// Polls until the query returns `expected` or `timeout` passes; returns the last value seen.
std::string WaitForValue(uint16_t prometheus_port, const std::string& promql,
                         const std::string& expected, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "(no result)";
  while (Clock::now() < deadline) {
    if (auto v = QueryValue(prometheus_port, promql)) {
      last = *v;
      if (last == expected) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return last;
}

TEST(PrometheusScrape, RealPrometheusSeesTheJobCounterMove) {
  if (testing::RunCommand("command -v prometheus") != 0) {
    GTEST_SKIP() << "prometheus not installed (Debian package 'prometheus')";
  }
  ServerMetrics metrics;
  http::MetricsHttpOptions options;
  options.port = 0;
  http::MetricsHttpServer server(options, {[&] { return metrics.RenderText(); }, nullptr});
  ASSERT_TRUE(server.Start().ok());
  for (int i = 0; i < 3; ++i) metrics.JobStateEntered("succeeded", "basic", "generic");

  const std::string dir = testing::TempDir();
  const std::string config = dir + "/prometheus.yml";
  std::ofstream(config) << "global:\n"
                           "  scrape_interval: 1s\n"
                           "  evaluation_interval: 1s\n"
                           "scrape_configs:\n"
                           "  - job_name: graphopt\n"
                           "    scrape_interval: 1s\n"
                           "    scrape_timeout: 1s\n"
                           "    static_configs:\n"
                           "      - targets: ['127.0.0.1:"
                        << server.port() << "']\n";
  const uint16_t prometheus_port = testing::FreeLoopbackPort();
  const std::string log = dir + "/prometheus.log";
  testing::ChildProcess prometheus;
  std::string error;
  ASSERT_TRUE(prometheus.Start(
      {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      log, &error))
      << error;

  // Ready within 30 s (usually about one).
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  bool ready = false;
  while (!ready && Clock::now() < deadline && prometheus.Running()) {
    ready = testing::HttpRequest(prometheus_port, "GET", "/-/ready").status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ready) << "prometheus did not become ready; log:\n" << testing::ReadFileOrEmpty(log);

  const std::string query =
      "graphopt_jobs_total{job=\"graphopt\",state=\"succeeded\",level=\"basic\","
      "target=\"generic\"}";
  EXPECT_EQ(WaitForValue(prometheus_port, query, "3", std::chrono::seconds(30)), "3")
      << testing::ReadFileOrEmpty(log);
  EXPECT_EQ(WaitForValue(prometheus_port, "up{job=\"graphopt\"}", "1", std::chrono::seconds(5)),
            "1");

  // The counter moves, and Prometheus sees it move.
  for (int i = 0; i < 4; ++i) metrics.JobStateEntered("succeeded", "basic", "generic");
  EXPECT_EQ(WaitForValue(prometheus_port, query, "7", std::chrono::seconds(30)), "7")
      << testing::ReadFileOrEmpty(log);
  // The process metrics were ingested too (a parse error would have dropped the whole scrape).
  EXPECT_TRUE(QueryValue(prometheus_port, "process_start_time_seconds{job=\"graphopt\"}"));

  const int status = prometheus.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::ReadFileOrEmpty(log);
  server.Stop();
}

}  // namespace
}  // namespace graphopt::metrics
