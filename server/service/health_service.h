// grpc.health.v1.Health, served by graphopt instead of gRPC's built-in service so a draining
// server can end open Watch streams (the built-in one keeps them until the listener closes).
// Check and Watch answer for the whole server ("") and for each service named at construction.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server/service/open_streams.h"

namespace graphopt::server {

class HealthService : public grpc::health::v1::Health::CallbackService {
 public:
  // Starts NOT_SERVING. Watch streams register with `streams`, which ends them when draining.
  HealthService(std::vector<std::string> services, OpenStreams& streams);
  ~HealthService() override;

  // Every known service turns SERVING or NOT_SERVING; open Watch streams get the new status.
  void SetServing(bool serving);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* call,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* call,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;
  ServingStatus StatusOfLocked(const std::string& service) const;
  void Forget(WatchReactor* watch);

  const std::set<std::string> services_;
  OpenStreams& streams_;
  std::mutex mu_;
  bool serving_ = false;
  std::set<WatchReactor*> watches_;
};

}  // namespace graphopt::server
