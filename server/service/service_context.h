// What every RPC handler of OptimizerService needs: the job manager, the stores, the observer
// and the limits. Owned by main; outlives the gRPC server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>
#include <boost/asio/thread_pool.hpp>

#include "server/jobs/job_manager.h"
#include "server/jobs/storage_collector.h"
#include "server/jobs/observer.h"
#include "server/service/authenticator.h"
#include "server/service/status_mapping.h"
#include "server/store/blob_store.h"
#include "server/store/job_store.h"

namespace graphopt::server {

struct ServiceContext {
  JobManager& jobs;
  JobStore& job_store;
  BlobStore& blobs;
  std::shared_ptr<ServerObserver> observer;
  int64_t max_upload_bytes;
  // Runs the blocking end of an upload (validation, fsync) off gRPC's callback threads.
  boost::asio::thread_pool& blocking_pool;
  // Names the caller's tenant; null: every caller is the default tenant.
  const Authenticator* auth = nullptr;
  // Bytes of uploads plus artifacts one tenant may hold; more uploads are refused (0: no limit).
  int64_t max_storage_bytes_per_tenant = 0;
  // Frees the bytes of deleted jobs and models at once; null: left to a later collection.
  StorageCollector* collector = nullptr;
};

// One structured "audit" line: who (tenant, peer) did what (method, job or digest), how it ended.
// Never carries a token.
void AuditLog(const grpc::ServerContextBase& call, std::string_view method,
              const std::string& tenant, std::string_view subject_kind, const std::string& subject,
              const grpc::Status& status);

// Measures one RPC from construction to Finished() and reports it to the observer.
class RpcTimer {
 public:
  RpcTimer(ServerObserver& observer, std::string_view method)
      : observer_(observer), method_(method), start_(std::chrono::steady_clock::now()) {}
  void Finished(const grpc::Status& status) {
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    observer_.OnRpc(method_, GrpcCodeName(status.error_code()), elapsed.count());
  }

 private:
  ServerObserver& observer_;
  std::string_view method_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace graphopt::server
