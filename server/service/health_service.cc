// grpc.health.v1.Health with Watch streams that end when the server drains (health_service.h).
#include "server/service/health_service.h"

#include <grpcpp/support/server_callback.h>

namespace graphopt::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: the current status at once, then each change. Only the latest status
// matters to a watcher, so a change that arrives during a write replaces any unsent one.
class HealthService::WatchReactor : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService& owner, std::string service, ServingStatus initial)
      : owner_(owner), service_(std::move(service)) {
    Send(initial);
  }

  const std::string& service() const { return service_; }

  void Send(ServingStatus status) {
    std::lock_guard lock(mu_);
    if (finished_ || status == last_sent_) return;
    pending_ = status;
    if (!writing_) WriteLocked();
  }

  void End(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    FinishLocked(status);
  }

  void Register(OpenStreams& streams) {
    auto added = streams.Add([this](const grpc::Status& status) { End(status); });
    if (auto* refused = std::get_if<grpc::Status>(&added)) {
      End(*refused);
    } else {
      token_ = std::get<int64_t>(added);
      streams_ = &streams;
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watcher went away"));
    if (pending_ != last_sent_) WriteLocked();
  }

  void OnCancel() override { End(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled")); }

  void OnDone() override {
    if (streams_ != nullptr) streams_->Remove(token_);
    owner_.Forget(this);
    delete this;
  }

 private:
  void WriteLocked() {
    if (finished_) return;
    response_.set_status(pending_);
    last_sent_ = pending_;
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  HealthService& owner_;
  const std::string service_;
  OpenStreams* streams_ = nullptr;
  int64_t token_ = 0;
  std::mutex mu_;
  HealthCheckResponse response_;
  // UNKNOWN is never sent, so the first Send always writes.
  ServingStatus last_sent_ = HealthCheckResponse::UNKNOWN;
  ServingStatus pending_ = HealthCheckResponse::UNKNOWN;
  bool writing_ = false;
  bool finished_ = false;
};

HealthService::HealthService(std::vector<std::string> services, OpenStreams& streams)
    : services_(services.begin(), services.end()), streams_(streams) {}

HealthService::~HealthService() = default;

HealthService::ServingStatus HealthService::StatusOfLocked(const std::string& service) const {
  if (!service.empty() && services_.count(service) == 0)
    return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::SetServing(bool serving) {
  std::lock_guard lock(mu_);
  serving_ = serving;
  for (WatchReactor* watch : watches_) watch->Send(StatusOfLocked(watch->service()));
}

void HealthService::Forget(WatchReactor* watch) {
  std::lock_guard lock(mu_);
  watches_.erase(watch);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* call,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  auto* reactor = call->DefaultReactor();
  ServingStatus status;
  {
    std::lock_guard lock(mu_);
    status = StatusOfLocked(request->service());
  }
  // The protocol answers an unknown service with NOT_FOUND on Check (SERVICE_UNKNOWN is Watch's).
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* call, const HealthCheckRequest* request) {
  WatchReactor* watch;
  {
    std::lock_guard lock(mu_);
    watch = new WatchReactor(*this, request->service(), StatusOfLocked(request->service()));
    watches_.insert(watch);
  }
  // Outside mu_: a server already draining ends the stream here at once.
  watch->Register(streams_);
  return watch;
}

}  // namespace graphopt::server
