// DownloadArtifact: reads the blob in 256 KiB chunks, one write in flight at a time.
#include "server/service/download_artifact_reactor.h"

#include <mutex>

namespace graphopt::server {

namespace {

using graphopt::v1::ArtifactChunk;

constexpr size_t kChunkBytes = 256 * 1024;

class DownloadArtifactReactor : public grpc::ServerWriteReactor<ArtifactChunk> {
 public:
  DownloadArtifactReactor(ServiceContext& context,
                          const graphopt::v1::DownloadArtifactRequest& request)
      : timer_(*context.observer, "DownloadArtifact") {
    std::lock_guard lock(mu_);
    Status status = Open(context, request);
    if (status.ok()) {
      WriteNextLocked();
    } else {
      FinishLocked(ToGrpcStatus(status));
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "download cancelled"));
  }

  void OnDone() override { delete this; }

 private:
  Status Open(ServiceContext& context, const graphopt::v1::DownloadArtifactRequest& request) {
    ASSIGN_OR_RETURN(JobRecord job, context.jobs.GetJob(request.job_id()));
    const bool html = request.kind() == graphopt::v1::ARTIFACT_KIND_REPORT_HTML;
    const bool report = html || request.kind() == graphopt::v1::ARTIFACT_KIND_REPORT;
    if (!report && request.kind() != graphopt::v1::ARTIFACT_KIND_MODEL &&
        request.kind() != graphopt::v1::ARTIFACT_KIND_UNSPECIFIED) {
      return InvalidArgument("unknown artifact kind " + std::to_string(request.kind()));
    }
    // A job whose verification failed has a report (it names the culprit) but no model.
    const bool available =
        job.state == JobState::kSucceeded || (report && !job.report_digest.empty());
    if (!available) {
      return FailedPrecondition("job " + job.id + " is " + JobStateName(job.state) +
                                (report ? "; it has no report" : "") +
                                "; models exist only for succeeded jobs");
    }
    if (html && job.report_html_digest.empty()) {
      return FailedPrecondition("job " + job.id +
                                " has no HTML report (it ran on an older graphopt-server); "
                                "download its JSON report");
    }
    digest_ = html ? job.report_html_digest : report ? job.report_digest : job.artifact_digest;
    auto reader = context.blobs.Open(digest_);
    if (!reader.ok()) {
      if (reader.status().code() == StatusCode::kNotFound) {
        return Internal("the artifact " + digest_ + " of job " + job.id +
                        " is missing from storage");
      }
      return reader.status();
    }
    reader_ = std::move(reader).value();
    return Status::Ok();
  }

  void WriteNextLocked() {
    if (finished_) return;
    chunk_.Clear();
    std::string* data = chunk_.mutable_data();
    data->resize(kChunkBytes);
    auto n = reader_->Read(data->data(), data->size());
    if (!n.ok()) return FinishLocked(ToGrpcStatus(n.status()));
    if (*n == 0 && offset_ > 0) return FinishLocked(grpc::Status::OK);
    data->resize(*n);
    chunk_.set_offset(offset_);
    if (offset_ == 0) {
      chunk_.set_total_size(reader_->size());
      chunk_.set_digest(digest_);
    }
    offset_ += static_cast<int64_t>(*n);
    if (*n == 0) done_after_write_ = true;  // an empty artifact still sends its metadata
    if (done_after_write_) {
      StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
      finished_ = true;
      timer_.Finished(grpc::Status::OK);
      return;
    }
    StartWrite(&chunk_);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    timer_.Finished(status);
    Finish(status);
  }

  RpcTimer timer_;
  std::mutex mu_;
  std::string digest_;
  std::unique_ptr<BlobReader> reader_;
  ArtifactChunk chunk_;
  int64_t offset_ = 0;
  bool done_after_write_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerWriteReactor<ArtifactChunk>* NewDownloadArtifactReactor(
    ServiceContext& context, const graphopt::v1::DownloadArtifactRequest& request) {
  return new DownloadArtifactReactor(context, request);
}

}  // namespace graphopt::server
