// Client side of the service benchmarks (see service_client.h).
#include "bench/support/service_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <grpcpp/client_context.h>

namespace graphopt::bench {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Upload(v1::OptimizerService::Stub& stub, const std::string& bytes, v1::FileKind kind,
            v1::Model* model) {
  grpc::ClientContext context;
  auto writer = stub.UploadModel(&context, model);
  v1::UploadModelRequest request;
  request.mutable_metadata()->set_file_name("bench");
  request.mutable_metadata()->set_declared_size(static_cast<int64_t>(bytes.size()));
  request.mutable_metadata()->set_kind(kind);
  writer->Write(request);
  constexpr size_t kChunk = 1 << 20;
  for (size_t offset = 0; offset < bytes.size(); offset += kChunk) {
    request.Clear();
    request.set_chunk(bytes.substr(offset, kChunk));
    if (!writer->Write(request)) break;
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) std::fprintf(stderr, "upload failed: %s\n", status.error_message().c_str());
  return status.ok();
}

bool RunJob(v1::OptimizerService::Stub& stub, const std::string& digest, v1::Level level) {
  v1::CreateJobRequest request;
  request.set_model_digest(digest);
  request.mutable_options()->set_level(level);
  request.set_fresh(true);
  v1::Job job;
  {
    grpc::ClientContext context;
    grpc::Status created = stub.CreateJob(&context, request, &job);
    if (!created.ok()) {
      std::fprintf(stderr, "CreateJob: %s\n", created.error_message().c_str());
      return false;
    }
  }
  v1::JobEvent event;
  v1::JobState final_state = v1::JOB_STATE_UNSPECIFIED;
  {
    grpc::ClientContext context;
    v1::WatchJobRequest watch;
    watch.set_job_id(job.id());
    auto reader = stub.WatchJob(&context, watch);
    while (reader->Read(&event)) final_state = event.state();
    if (!reader->Finish().ok() || final_state != v1::JOB_STATE_SUCCEEDED) return false;
  }
  grpc::ClientContext context;
  v1::DownloadArtifactRequest download;
  download.set_job_id(job.id());
  auto reader = stub.DownloadArtifact(&context, download);
  v1::ArtifactChunk chunk;
  size_t bytes = 0;
  while (reader->Read(&chunk)) bytes += chunk.data().size();
  return reader->Finish().ok() && bytes > 0;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * (values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace graphopt::bench
