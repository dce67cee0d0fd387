// The unary RPCs of OptimizerService and the construction of the streaming reactors. Every call
// first names its caller's tenant (Authenticator); a job or upload of another tenant is
// NOT_FOUND, exactly like one that does not exist.
#include "server/service/optimizer_service.h"

#include "server/config/logging.h"
#include "server/service/download_artifact_reactor.h"
#include "server/service/page_token.h"
#include "server/service/proto_convert.h"
#include "server/service/request_limits.h"
#include "server/service/upload_model_reactor.h"
#include "server/service/watch_job_reactor.h"

namespace graphopt::server {

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

Result<int> PageSize(int requested) {
  if (requested < 0) return InvalidArgument("page_size must not be negative");
  return requested == 0 ? kDefaultPageSize : std::min(requested, kMaxPageSize);
}

int64_t MillisOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

// What a ListJobs page token is bound to: the caller and every filter.
std::string ListJobsScope(const std::string& tenant, const graphopt::v1::ListJobsRequest& r) {
  return "jobs\n" + tenant + "\n" + std::to_string(r.state()) + "\n" + r.label_selector() +
         "\n" + r.model_name() + "\n" +
         (r.has_created_after() ? std::to_string(MillisOf(r.created_after())) : "-") + "\n" +
         (r.has_created_before() ? std::to_string(MillisOf(r.created_before())) : "-");
}

std::string ListModelsScope(const std::string& tenant, const graphopt::v1::ListModelsRequest& r) {
  return "models\n" + tenant + "\n" + r.name() + "\n" + r.label_selector();
}

// A streaming call refused before its reactor was made: finishes at once with `status`.
template <typename Message>
class RefusedWriteReactor : public grpc::ServerWriteReactor<Message> {
 public:
  explicit RefusedWriteReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Message>
class RefusedReadReactor : public grpc::ServerReadReactor<Message> {
 public:
  explicit RefusedReadReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::Status OptimizerService::Identify(const grpc::CallbackServerContext* call,
                                        std::string* tenant) const {
  if (context_.auth == nullptr) {
    *tenant = kDefaultTenant;
    return grpc::Status::OK;
  }
  return context_.auth->Authenticate(*call, tenant);
}

Result<JobRecord> OptimizerService::OwnJob(const std::string& tenant, const std::string& id) {
  RETURN_IF_ERROR(CheckIdLength(id, "job_id"));
  auto job = context_.jobs.GetJob(id);
  // Another tenant's job answers exactly as a missing one: its existence stays private.
  if (job.ok() && job->tenant != tenant) return NotFound("no job with id '" + id + "'");
  return job;
}

grpc::ServerUnaryReactor* OptimizerService::Reply(grpc::CallbackServerContext* call,
                                                  RpcTimer& timer, const Status& status) {
  return Reply(call, timer, ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* OptimizerService::Reply(grpc::CallbackServerContext* call,
                                                  RpcTimer& timer, const grpc::Status& status) {
  timer.Finished(status);
  auto* reactor = call->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerReadReactor<graphopt::v1::UploadModelRequest>* OptimizerService::UploadModel(
    grpc::CallbackServerContext* call, graphopt::v1::Model* response) {
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  if (!identified.ok()) {
    RpcTimer(*context_.observer, "UploadModel").Finished(identified);
    AuditLog(*call, "UploadModel", "", "digest", "", identified);
    return new RefusedReadReactor<graphopt::v1::UploadModelRequest>(identified);
  }
  return NewUploadModelReactor(context_, call, response, tenant);
}

grpc::ServerUnaryReactor* OptimizerService::CreateJob(grpc::CallbackServerContext* call,
                                                      const graphopt::v1::CreateJobRequest* request,
                                                      graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "CreateJob");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  auto finish = [&](const Status& status) {
    grpc::Status grpc_status = identified.ok() ? ToGrpcStatus(status) : identified;
    AuditLog(*call, "CreateJob", tenant, response->id().empty() ? "digest" : "job_id",
             response->id().empty() ? request->model_digest() : response->id(), grpc_status);
    return Reply(call, timer, grpc_status);
  };
  if (!identified.ok()) return finish(Status::Ok());
  Status limits = CheckCreateJobRequest(*request);
  if (!limits.ok()) return finish(limits);
  auto options = OptionsFromProto(request->options());
  if (!options.ok()) return finish(options.status());
  CreateJobParams params;
  params.tenant = tenant;
  params.model_digest = request->model_digest();
  params.external_data.insert(request->external_data().begin(), request->external_data().end());
  params.options = std::move(options).value();
  params.idempotency_key = request->idempotency_key();
  params.fresh = request->fresh();
  auto labels = LabelsFromProto(request->labels(), "labels");
  if (!labels.ok()) return finish(labels.status());
  params.labels = std::move(labels).value();
  auto job = context_.jobs.CreateJob(params);
  if (job.ok()) JobToProto(*job, response);
  return finish(job.status());
}

grpc::ServerUnaryReactor* OptimizerService::GetJob(grpc::CallbackServerContext* call,
                                                   const graphopt::v1::GetJobRequest* request,
                                                   graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "GetJob");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  if (!identified.ok()) {
    AuditLog(*call, "GetJob", "", "job_id", request->job_id(), identified);
    return Reply(call, timer, identified);
  }
  auto job = OwnJob(tenant, request->job_id());
  if (job.ok()) JobToProto(*job, response);
  if (!job.ok() && job.status().code() == StatusCode::kNotFound) {
    AuditLog(*call, "GetJob", tenant, "job_id", request->job_id(), ToGrpcStatus(job.status()));
  }
  return Reply(call, timer, job.status());
}

grpc::ServerUnaryReactor* OptimizerService::ListJobs(grpc::CallbackServerContext* call,
                                                     const graphopt::v1::ListJobsRequest* request,
                                                     graphopt::v1::ListJobsResponse* response) {
  RpcTimer timer(*context_.observer, "ListJobs");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  if (!identified.ok()) {
    AuditLog(*call, "ListJobs", "", "", "", identified);
    return Reply(call, timer, identified);
  }
  auto page_size = PageSize(request->page_size());
  if (!page_size.ok()) return Reply(call, timer, page_size.status());
  auto state = StateFilterFromProto(request->state());
  if (!state.ok()) return Reply(call, timer, state.status());
  auto selector = SelectorFromProto(request->label_selector());
  if (!selector.ok()) return Reply(call, timer, selector.status());
  const std::string scope = ListJobsScope(tenant, *request);
  auto before = DecodePageToken(scope, request->page_token());
  if (!before.ok()) return Reply(call, timer, before.status());
  JobListQuery query;
  query.tenant = tenant;
  query.state = *state;
  query.page_size = *page_size;
  query.before_seq = *before;
  query.selector = std::move(selector).value();
  query.model_name = request->model_name();
  if (request->has_created_after()) query.created_after_ms = MillisOf(request->created_after());
  if (request->has_created_before()) {
    query.created_before_ms = MillisOf(request->created_before());
    // 0 means "no bound" to the store; a bound at the epoch selects nothing.
    if (query.created_before_ms <= 0) return Reply(call, timer, Status::Ok());
  }
  auto page = context_.jobs.ListJobs(query);
  if (page.ok()) {
    // Pages end at a count or at a size, whichever comes first (always at least one job).
    size_t bytes = 0;
    for (size_t i = 0; i < page->jobs.size(); ++i) {
      graphopt::v1::Job job;
      JobToProto(page->jobs[i], &job);
      const size_t size = job.ByteSizeLong();
      if (i > 0 && bytes + size > kMaxListJobsResponseBytes) {
        response->set_next_page_token(EncodePageToken(scope, page->jobs[i - 1].seq));
        return Reply(call, timer, Status::Ok());
      }
      bytes += size;
      *response->add_jobs() = std::move(job);
    }
    if (page->next_before_seq > 0) {
      response->set_next_page_token(EncodePageToken(scope, page->next_before_seq));
    }
  }
  return Reply(call, timer, page.status());
}

grpc::ServerUnaryReactor* OptimizerService::CancelJob(grpc::CallbackServerContext* call,
                                                      const graphopt::v1::CancelJobRequest* request,
                                                      graphopt::v1::Job* response) {
  RpcTimer timer(*context_.observer, "CancelJob");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  auto finish = [&](const Status& status) {
    grpc::Status grpc_status = identified.ok() ? ToGrpcStatus(status) : identified;
    AuditLog(*call, "CancelJob", tenant, "job_id", request->job_id(), grpc_status);
    return Reply(call, timer, grpc_status);
  };
  if (!identified.ok()) return finish(Status::Ok());
  auto owned = OwnJob(tenant, request->job_id());
  if (!owned.ok()) return finish(owned.status());
  auto job = context_.jobs.CancelJob(request->job_id());
  if (job.ok()) JobToProto(*job, response);
  return finish(job.status());
}

grpc::ServerWriteReactor<graphopt::v1::JobEvent>* OptimizerService::WatchJob(
    grpc::CallbackServerContext* call, const graphopt::v1::WatchJobRequest* request) {
  std::string tenant;
  grpc::Status refused = Identify(call, &tenant);
  if (refused.ok()) {
    auto owned = OwnJob(tenant, request->job_id());
    if (owned.ok()) return NewWatchJobReactor(context_, *request);
    refused = ToGrpcStatus(owned.status());
  }
  RpcTimer(*context_.observer, "WatchJob").Finished(refused);
  AuditLog(*call, "WatchJob", tenant, "job_id", request->job_id(), refused);
  return new RefusedWriteReactor<graphopt::v1::JobEvent>(refused);
}

grpc::ServerWriteReactor<graphopt::v1::ArtifactChunk>* OptimizerService::DownloadArtifact(
    grpc::CallbackServerContext* call, const graphopt::v1::DownloadArtifactRequest* request) {
  std::string tenant;
  grpc::Status refused = Identify(call, &tenant);
  if (refused.ok()) {
    auto owned = OwnJob(tenant, request->job_id());
    if (owned.ok()) return NewDownloadArtifactReactor(context_, *request);
    refused = ToGrpcStatus(owned.status());
  }
  RpcTimer(*context_.observer, "DownloadArtifact").Finished(refused);
  AuditLog(*call, "DownloadArtifact", tenant, "job_id", request->job_id(), refused);
  return new RefusedWriteReactor<graphopt::v1::ArtifactChunk>(refused);
}

int64_t OptimizerService::ReclaimNow(const std::vector<std::string>& digests) {
  if (context_.collector == nullptr) return 0;
  auto freed = context_.collector->Reclaim(digests);
  if (!freed.ok()) {
    // The delete itself succeeded; the next periodic collection frees the bytes.
    LogEvent(spdlog::level::warn, "reclaim_failed", {{"error", freed.status().message()}});
    return 0;
  }
  return *freed;
}

grpc::ServerUnaryReactor* OptimizerService::DeleteJob(grpc::CallbackServerContext* call,
                                                      const graphopt::v1::DeleteJobRequest* request,
                                                      graphopt::v1::DeleteJobResponse* response) {
  RpcTimer timer(*context_.observer, "DeleteJob");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  auto finish = [&](const Status& status) {
    grpc::Status grpc_status = identified.ok() ? ToGrpcStatus(status) : identified;
    AuditLog(*call, "DeleteJob", tenant, "job_id", request->job_id(), grpc_status);
    return Reply(call, timer, grpc_status);
  };
  if (!identified.ok()) return finish(Status::Ok());
  auto owned = OwnJob(tenant, request->job_id());
  if (!owned.ok()) return finish(owned.status());
  // The job manager's view first: a job it still runs (or has yet to persist) is not finished.
  if (!IsTerminal(owned->state)) {
    return finish(FailedPrecondition("job " + owned->id + " is " + JobStateName(owned->state) +
                                     "; cancel it before deleting it"));
  }
  Status deleted = context_.job_store.DeleteJob(owned->id);
  if (!deleted.ok()) return finish(deleted);
  response->set_reclaimed_bytes(
      ReclaimNow({owned->artifact_digest, owned->report_digest, owned->report_html_digest}));
  return finish(Status::Ok());
}

grpc::ServerUnaryReactor* OptimizerService::GetModel(grpc::CallbackServerContext* call,
                                                     const graphopt::v1::GetModelRequest* request,
                                                     graphopt::v1::Model* response) {
  RpcTimer timer(*context_.observer, "GetModel");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  if (!identified.ok()) {
    AuditLog(*call, "GetModel", "", "digest", request->digest(), identified);
    return Reply(call, timer, identified);
  }
  Status length = CheckIdLength(request->digest(), "digest");
  if (!length.ok()) return Reply(call, timer, length);
  auto model = context_.job_store.GetModel(tenant, request->digest());
  if (model.ok()) *response = ModelToProto(*model);
  return Reply(call, timer, model.status());
}

grpc::ServerUnaryReactor* OptimizerService::ListModels(
    grpc::CallbackServerContext* call, const graphopt::v1::ListModelsRequest* request,
    graphopt::v1::ListModelsResponse* response) {
  RpcTimer timer(*context_.observer, "ListModels");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  if (!identified.ok()) {
    AuditLog(*call, "ListModels", "", "", "", identified);
    return Reply(call, timer, identified);
  }
  auto page_size = PageSize(request->page_size());
  if (!page_size.ok()) return Reply(call, timer, page_size.status());
  if (std::string error = CheckModelName(request->name(), "name"); !error.empty()) {
    return Reply(call, timer, InvalidArgument(error));
  }
  auto selector = SelectorFromProto(request->label_selector());
  if (!selector.ok()) return Reply(call, timer, selector.status());
  const std::string scope = ListModelsScope(tenant, *request);
  auto before = DecodePageToken(scope, request->page_token());
  if (!before.ok()) return Reply(call, timer, before.status());
  ModelListQuery query;
  query.tenant = tenant;
  query.name = request->name();
  query.selector = std::move(selector).value();
  query.page_size = *page_size;
  query.before_seq = *before;
  auto page = context_.job_store.ListModels(query);
  if (page.ok()) {
    for (const auto& m : page->models) *response->add_models() = ModelToProto(m);
    if (page->next_before_seq > 0) {
      response->set_next_page_token(EncodePageToken(scope, page->next_before_seq));
    }
  }
  return Reply(call, timer, page.status());
}

grpc::ServerUnaryReactor* OptimizerService::DeleteModel(
    grpc::CallbackServerContext* call, const graphopt::v1::DeleteModelRequest* request,
    graphopt::v1::DeleteModelResponse* response) {
  RpcTimer timer(*context_.observer, "DeleteModel");
  std::string tenant;
  grpc::Status identified = Identify(call, &tenant);
  auto finish = [&](const Status& status) {
    grpc::Status grpc_status = identified.ok() ? ToGrpcStatus(status) : identified;
    AuditLog(*call, "DeleteModel", tenant, "digest", request->digest(), grpc_status);
    return Reply(call, timer, grpc_status);
  };
  if (!identified.ok()) return finish(Status::Ok());
  Status length = CheckIdLength(request->digest(), "digest");
  if (!length.ok()) return finish(length);
  Status deleted = context_.job_store.DeleteModel(tenant, request->digest());
  if (!deleted.ok()) return finish(deleted);
  response->set_reclaimed_bytes(ReclaimNow({request->digest()}));
  return finish(Status::Ok());
}

}  // namespace graphopt::server
