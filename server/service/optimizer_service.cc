// The unary RPCs of OptimizerService and the construction of the streaming reactors.
#include "server/service/optimizer_service.h"

#include "server/service/download_artifact_reactor.h"
#include "server/service/proto_convert.h"
#include "server/service/upload_model_reactor.h"
#include "server/service/watch_job_reactor.h"

namespace graphopt::server {

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

Result<int64_t> ParsePageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  if (token.size() > 19 || token.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("page_token is not one this server returned");
  }
  return static_cast<int64_t>(std::stoll(token));
}

}  // namespace

grpc::ServerUnaryReactor* OptimizerService::Reply(grpc::CallbackServerContext* call,
                                                  RpcTimer& timer, const Status& status) {
  grpc::Status grpc_status = ToGrpcStatus(status);
  timer.Finished(grpc_status);
  auto* reactor = call->DefaultReactor();
  reactor->Finish(grpc_status);
  return reactor;
}

grpc::ServerReadReactor<graphopt::v1::UploadModelRequest>* OptimizerService::UploadModel(
    grpc::CallbackServerContext* call, graphopt::v1::Model* response) {
  return NewUploadModelReactor(context_, call, response);
}

grpc::ServerUnaryReactor* OptimizerService::CreateJob(grpc::CallbackServerContext* call,
                                                      const graphopt::v1::CreateJobRequest* request,
                                                      graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "CreateJob");
  auto options = OptionsFromProto(request->options());
  if (!options.ok()) return Reply(call, timer, options.status());
  CreateJobParams params;
  params.model_digest = request->model_digest();
  params.external_data.insert(request->external_data().begin(), request->external_data().end());
  params.options = std::move(options).value();
  params.idempotency_key = request->idempotency_key();
  params.fresh = request->fresh();
  if (params.idempotency_key.size() > 256) {
    return Reply(call, timer, InvalidArgument("idempotency_key is longer than 256 bytes"));
  }
  auto job = context_.jobs.CreateJob(params);
  if (job.ok()) JobToProto(*job, response);
  return Reply(call, timer, job.status());
}

grpc::ServerUnaryReactor* OptimizerService::GetJob(grpc::CallbackServerContext* call,
                                                   const graphopt::v1::GetJobRequest* request,
                                                   graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "GetJob");
  auto job = context_.jobs.GetJob(request->job_id());
  if (job.ok()) JobToProto(*job, response);
  return Reply(call, timer, job.status());
}

grpc::ServerUnaryReactor* OptimizerService::ListJobs(grpc::CallbackServerContext* call,
                                                     const graphopt::v1::ListJobsRequest* request,
                                                     graphopt::v1::ListJobsResponse* response) {
  RpcTimer timer(*context_.observer, "ListJobs");
  if (request->page_size() < 0) {
    return Reply(call, timer, InvalidArgument("page_size must not be negative"));
  }
  auto state = StateFilterFromProto(request->state());
  if (!state.ok()) return Reply(call, timer, state.status());
  auto before = ParsePageToken(request->page_token());
  if (!before.ok()) return Reply(call, timer, before.status());
  JobListQuery query;
  query.state = *state;
  query.page_size =
      request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
  query.before_seq = *before;
  auto page = context_.jobs.ListJobs(query);
  if (page.ok()) {
    for (const auto& job : page->jobs) JobToProto(job, response->add_jobs());
    if (page->next_before_seq > 0) {
      response->set_next_page_token(std::to_string(page->next_before_seq));
    }
  }
  return Reply(call, timer, page.status());
}

grpc::ServerUnaryReactor* OptimizerService::CancelJob(grpc::CallbackServerContext* call,
                                                      const graphopt::v1::CancelJobRequest* request,
                                                      graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "CancelJob");
  auto job = context_.jobs.CancelJob(request->job_id());
  if (job.ok()) JobToProto(*job, response);
  return Reply(call, timer, job.status());
}

grpc::ServerWriteReactor<graphopt::v1::JobEvent>* OptimizerService::WatchJob(
    grpc::CallbackServerContext* call, const graphopt::v1::WatchJobRequest* request) {
  return NewWatchJobReactor(context_, *request);
}

grpc::ServerWriteReactor<graphopt::v1::ArtifactChunk>* OptimizerService::DownloadArtifact(
    grpc::CallbackServerContext* call, const graphopt::v1::DownloadArtifactRequest* request) {
  return NewDownloadArtifactReactor(context_, *request);
}

}  // namespace graphopt::server
