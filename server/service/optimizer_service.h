// graphopt.v1.OptimizerService on gRPC's callback API: unary calls translate messages and call
// the JobManager; each streaming call gets its own reactor.
#pragma once

#include "graphopt/v1/optimizer.grpc.pb.h"
#include "server/service/service_context.h"

namespace graphopt::server {

class OptimizerService : public graphopt::v1::OptimizerService::CallbackService {
 public:
  explicit OptimizerService(ServiceContext& context) : context_(context) {}

  grpc::ServerReadReactor<graphopt::v1::UploadModelRequest>* UploadModel(
      grpc::CallbackServerContext* call, graphopt::v1::Model* response) override;
  grpc::ServerUnaryReactor* CreateJob(grpc::CallbackServerContext* call,
                                      const graphopt::v1::CreateJobRequest* request,
                                      graphopt::v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* call,
                                   const graphopt::v1::GetJobRequest* request,
                                   graphopt::v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* call,
                                     const graphopt::v1::ListJobsRequest* request,
                                     graphopt::v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* call,
                                      const graphopt::v1::CancelJobRequest* request,
                                      graphopt::v1::Job* response) override;
  grpc::ServerWriteReactor<graphopt::v1::JobEvent>* WatchJob(
      grpc::CallbackServerContext* call, const graphopt::v1::WatchJobRequest* request) override;
  grpc::ServerWriteReactor<graphopt::v1::ArtifactChunk>* DownloadArtifact(
      grpc::CallbackServerContext* call,
      const graphopt::v1::DownloadArtifactRequest* request) override;
  grpc::ServerUnaryReactor* DeleteJob(grpc::CallbackServerContext* call,
                                      const graphopt::v1::DeleteJobRequest* request,
                                      graphopt::v1::DeleteJobResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* call,
                                     const graphopt::v1::GetModelRequest* request,
                                     graphopt::v1::Model* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* call,
                                       const graphopt::v1::ListModelsRequest* request,
                                       graphopt::v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteModel(grpc::CallbackServerContext* call,
                                        const graphopt::v1::DeleteModelRequest* request,
                                        graphopt::v1::DeleteModelResponse* response) override;

 private:
  // Finishes a unary call with `status` and reports it.
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, RpcTimer& timer,
                                  const Status& status);
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, RpcTimer& timer,
                                  const grpc::Status& status);
  // The caller's tenant, or UNAUTHENTICATED.
  grpc::Status Identify(const grpc::CallbackServerContext* call, std::string* tenant) const;
  // Job `id` when `tenant` owns it; kNotFound otherwise (whether or not it exists).
  Result<JobRecord> OwnJob(const std::string& tenant, const std::string& id);
  // Bytes freed at once among `digests` (0 without a collector or when still referenced).
  int64_t ReclaimNow(const std::vector<std::string>& digests);
  ServiceContext& context_;
};

}  // namespace graphopt::server
