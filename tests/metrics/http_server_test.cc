// The metrics HTTP server on a real loopback socket: routes, status codes, limits, keep-alive,
// shutdown.
#include "server/http/metrics_http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "metrics/http_test_client.h"
#include "server/metrics/metrics.h"
#include "server/metrics/text_format.h"

namespace graphopt::http {
namespace {

using testing::HttpConnection;
using testing::HttpRequest;

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MetricsHttpOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_request_bytes = 4096;
    server_ = std::make_unique<MetricsHttpServer>(
        options, MetricsHttpHandlers{[this] { return metrics_.RenderText(); },
                                     [this] { return ready_.load(); }});
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }

  metrics::ServerMetrics metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<MetricsHttpServer> server_;
};

TEST_F(MetricsHttpServerTest, ServesMetricsInTheTextFormat) {
  metrics_.JobStateEntered("succeeded", "basic", "generic");
  const auto r = HttpRequest(server_->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.content_type, metrics::kTextFormatContentType);
  EXPECT_NE(r.body.find("graphopt_jobs_total{state=\"succeeded\",level=\"basic\","
                        "target=\"generic\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("# TYPE process_open_fds gauge\n"), std::string::npos);
  // The scrape sees the latest value.
  metrics_.JobStateEntered("succeeded", "basic", "generic");
  EXPECT_NE(
      HttpRequest(server_->port(), "GET", "/metrics?x=1").body.find("target=\"generic\"} 2\n"),
      std::string::npos);
}

TEST_F(MetricsHttpServerTest, HealthAndReadiness) {
  const auto health = HttpRequest(server_->port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/readyz").status, 503);
  ready_ = true;
  const auto ready = HttpRequest(server_->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
  ready_ = false;
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/readyz").status, 503);
}

TEST_F(MetricsHttpServerTest, UnknownPathsAndMethods) {
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/").status, 404);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/metricsx").status, 404);
  const auto post = HttpRequest(server_->port(), "POST", "/metrics", "x=1");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  EXPECT_EQ(HttpRequest(server_->port(), "DELETE", "/healthz").status, 405);
  const auto head = HttpRequest(server_->port(), "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(MetricsHttpServerTest, OversizedRequestsAreRefusedAndClosed) {
  HttpConnection big_body(server_->port());
  const auto r = big_body.Request("POST", "/metrics", std::string(10000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(big_body.ClosedByPeer());

  HttpConnection big_header(server_->port());
  const auto h = big_header.Request("GET", "/metrics?" + std::string(8000, 'q'));
  EXPECT_EQ(h.status, 413);
  // The server is still fine afterwards.
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/healthz").status, 200);
}

TEST_F(MetricsHttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpConnection c(server_->port());
  for (int i = 0; i < 5; ++i) {
    const auto r = c.Request("GET", i % 2 ? "/healthz" : "/metrics");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(c.Request("GET", "/nope").status, 404);
  EXPECT_EQ(c.Request("GET", "/healthz").status, 200);
}

TEST_F(MetricsHttpServerTest, StopClosesIdleConnectionsAndFreesThePort) {
  HttpConnection idle(server_->port());
  ASSERT_EQ(idle.Request("GET", "/healthz").status, 200);
  const uint16_t port = server_->port();
  server_->Stop();
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_EQ(HttpRequest(port, "GET", "/healthz").status, 0);  // nobody listens
  server_->Stop();                                            // idempotent
  // The port can be bound again at once.
  MetricsHttpOptions again;
  again.port = port;
  MetricsHttpServer second(again, {[] { return std::string("x 1\n"); }, nullptr});
  ASSERT_TRUE(second.Start().ok());
  EXPECT_EQ(HttpRequest(port, "GET", "/readyz").status, 200);  // no callback: always ready
}

TEST(MetricsHttpServer, BindFailureIsAnErrorValue) {
  MetricsHttpOptions options;
  options.port = 0;
  MetricsHttpServer first(options, {[] { return std::string(); }, nullptr});
  ASSERT_TRUE(first.Start().ok());
  options.port = first.port();
  MetricsHttpServer second(options, {[] { return std::string(); }, nullptr});
  const Status st = second.Start();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find(std::to_string(first.port())), std::string::npos);

  options.host = "no-such-host.invalid";
  MetricsHttpServer third(options, {[] { return std::string(); }, nullptr});
  EXPECT_EQ(third.Start().code(), StatusCode::kUnavailable);
}

TEST(MetricsHttpRouting, HandlerExceptionsBecome500) {
  MetricsHttpHandlers handlers{[]() -> std::string { throw std::runtime_error("boom"); }, nullptr};
  const HttpReply r = RouteRequest("GET", "/metrics", handlers);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("boom"), std::string::npos);
}

TEST(MetricsHttpRouting, ParseListenAddress) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:9464", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  ASSERT_TRUE(ParseListenAddress("[::1]:80", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 80);
  ASSERT_TRUE(ParseListenAddress(":9100", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9100);
  EXPECT_FALSE(ParseListenAddress("localhost", &host, &port));
  EXPECT_FALSE(ParseListenAddress("localhost:99999", &host, &port));
  EXPECT_FALSE(ParseListenAddress("localhost:12a", &host, &port));
  EXPECT_FALSE(ParseListenAddress("::1:80", &host, &port));
  EXPECT_FALSE(ParseListenAddress("host:", &host, &port));
}

}  // namespace
}  // namespace graphopt::http
