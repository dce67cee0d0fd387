// The service's HTTP side door for operators: GET /metrics (Prometheus), /healthz (the process
// runs) and /readyz (the stores are ready), on its own port and threads, apart from gRPC.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "optimizer/util/status.h"

namespace graphopt::http {

struct MetricsHttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9464;  // 0 picks a free port; port() tells which
  int threads = 1;
  // Header and body limits, each; a larger request gets 413 and the connection is closed.
  size_t max_request_bytes = 16 * 1024;
  // A keep-alive connection idle this long is closed.
  std::chrono::milliseconds idle_timeout{30000};
};

struct MetricsHttpHandlers {
  // Returns the text exposition (e.g. ServerMetrics::RenderText). Required.
  std::function<std::string()> metrics_text;
  // True when the service can take work (stores open). Empty means always ready.
  std::function<bool()> ready;
};

// What one request gets, independent of sockets.
struct HttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
  bool allow_header = false;  // 405: say which methods are allowed
};

// GET or HEAD on /metrics, /healthz, /readyz; 404 for other paths, 405 for other methods. The
// query string is ignored. Exceptions from the handlers become 500.
HttpReply RouteRequest(std::string_view method, std::string_view target,
                       const MetricsHttpHandlers& handlers);

// Splits "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all interfaces); false when malformed.
bool ParseListenAddress(std::string_view address, std::string* host, uint16_t* port);

class MetricsHttpServer {
 public:
  MetricsHttpServer(MetricsHttpOptions options, MetricsHttpHandlers handlers);
  ~MetricsHttpServer();  // stops if running
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Binds and starts serving on background threads. Unavailable when the address cannot be
  // bound (in use, bad host).
  Status Start();
  // The bound port (useful with port 0); 0 before Start.
  uint16_t port() const;
  // Stops accepting, lets responses being written finish, closes idle connections, and joins
  // the threads (waits at most ~3 s for stragglers). Idempotent.
  void Stop();

 private:
  friend class MetricsHttpSession;  // one connection, defined with Impl in the .cc
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace graphopt::http
