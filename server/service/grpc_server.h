// Builds and runs the gRPC server: OptimizerService plus grpc.health.v1 and server reflection
// (v1 and v1alpha),
// with the limits that protect the process (message size, concurrent streams).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/server.h>

#include "optimizer/util/status.h"
#include "server/service/health_service.h"
#include "server/service/open_streams.h"
#include "server/service/optimizer_service.h"

namespace graphopt::server {

class ReflectionV1Service;

struct GrpcServerOptions {
  std::string listen;
  int max_concurrent_streams = 100;
  // TLS when both are set: PEM files, re-read by gRPC when they change (no restart, no dropped
  // connections).
  std::string tls_cert;
  std::string tls_key;
  // Mutual TLS: client certificates are verified against this CA bundle. Required unless
  // `client_certificate_optional` (bearer tokens are accepted too).
  std::string tls_client_ca;
  bool client_certificate_optional = false;
  int tls_refresh_seconds = 5;
  // Reflection answers anyone who reaches the port, so it is off when callers must authenticate.
  bool reflection = true;
};

class GrpcServer {
 public:
  // Binds and starts serving; health reports NOT_SERVING until SetServing(true).
  static Result<std::unique_ptr<GrpcServer>> Start(ServiceContext& context,
                                                   const GrpcServerOptions& options);
  ~GrpcServer();

  void SetServing(bool serving);
  // Finishes every open WatchJob and Health.Watch stream with UNAVAILABLE (the client watches
  // again elsewhere, or here after the restart) and refuses new ones; unary calls go on.
  // Returns how many streams were open.
  int EndStreams();
  // Stops accepting calls; calls still running get until `deadline`, then are cancelled.
  void Shutdown(std::chrono::system_clock::time_point deadline);
  int port() const { return port_; }

 private:
  GrpcServer() = default;
  OpenStreams streams_;
  std::unique_ptr<OptimizerService> service_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<ReflectionV1Service> reflection_v1_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace graphopt::server
