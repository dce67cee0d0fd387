// WatchJob: events from the JobManager are queued here and written one at a time (a reactor may
// have only one write in flight); the stream ends after the terminal event.
#include "server/service/watch_job_reactor.h"

#include <deque>
#include <mutex>

#include "server/service/proto_convert.h"

namespace graphopt::server {

namespace {

using graphopt::v1::JobEvent;

class WatchJobReactor : public grpc::ServerWriteReactor<JobEvent> {
 public:
  WatchJobReactor(ServiceContext& context, OpenStreams& streams,
                  const graphopt::v1::WatchJobRequest& request)
      : timer_(*context.observer, "WatchJob") {
    // Registered first, so a draining server refuses the watch before it sends anything. Outside
    // mu_: the streams' lock is taken before ours when the server drains.
    auto added = streams.Add([this](const grpc::Status& status) {
      std::lock_guard lock(mu_);
      FinishLocked(status);
    });
    if (auto* refused = std::get_if<grpc::Status>(&added)) {
      std::lock_guard lock(mu_);
      FinishLocked(*refused);
      return;
    }
    streams_ = &streams;
    token_ = std::get<int64_t>(added);
    auto subscription = context.jobs.Watch(
        request.job_id(), [this](const JobEventRecord& event, const JobRecord& job, bool snapshot) {
          Enqueue(EventToProto(event, job, snapshot), IsTerminal(event.state));
        });
    std::lock_guard lock(mu_);
    if (!subscription.ok()) {
      FinishLocked(ToGrpcStatus(subscription.status()));
      return;
    }
    subscription_ = std::move(subscription).value();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok)
      return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    if (streams_ != nullptr) streams_->Remove(token_);
    subscription_.reset();  // no more events can arrive after this
    delete this;
  }

 private:
  void Enqueue(JobEvent event, bool terminal) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    pending_.push_back(std::move(event));
    saw_terminal_ = saw_terminal_ || terminal;
    if (!writing_) WriteNextLocked();
  }

  void WriteNextLocked() {
    if (finished_) return;
    if (pending_.empty()) {
      if (saw_terminal_) FinishLocked(grpc::Status::OK);
      return;
    }
    current_ = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    timer_.Finished(status);
    Finish(status);
  }

  RpcTimer timer_;
  std::mutex mu_;
  std::deque<JobEvent> pending_;
  JobEvent current_;
  bool writing_ = false;
  bool saw_terminal_ = false;
  bool finished_ = false;
  std::unique_ptr<JobSubscription> subscription_;
  OpenStreams* streams_ = nullptr;
  int64_t token_ = 0;
};

}  // namespace

grpc::ServerWriteReactor<JobEvent>* NewWatchJobReactor(
    ServiceContext& context, OpenStreams& streams, const graphopt::v1::WatchJobRequest& request) {
  return new WatchJobReactor(context, streams, request);
}

}  // namespace graphopt::server
