// Child-process control and RPC helpers for the end-to-end tests.
#include "server/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

namespace graphopt::testing {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // HealthCheckRequest { string service = 1; }, encoded by hand (no generated stubs needed).
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  (void)out.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 <varint>; empty = UNKNOWN (0).
  if (bytes.size() >= 2 && bytes[0] == 0x08) return bytes[1];
  return 0;
}

struct HealthWatch::State {
  explicit State(std::shared_ptr<grpc::Channel> channel) : stub(std::move(channel)) {}
  grpc::GenericStub stub;
  grpc::ClientContext context;
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
  int pending = 0;  // operations started and not yet taken from the queue

  bool Await() {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) return false;
    --pending;
    return ok;
  }
};

HealthWatch::HealthWatch(std::shared_ptr<grpc::Channel> channel)
    : state_(std::make_unique<State>(std::move(channel))) {}

HealthWatch::~HealthWatch() {
  state_->context.TryCancel();
  if (state_->call) {
    grpc::Status status;
    state_->call->Finish(&status, state_.get());
    ++state_->pending;
  }
  while (state_->pending > 0) state_->Await();
  state_->queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (state_->queue.Next(&tag, &ok)) {
  }
}

bool HealthWatch::Open() {
  State& s = *state_;
  s.call = s.stub.PrepareCall(&s.context, "/grpc.health.v1.Health/Watch", &s.queue);
  s.call->StartCall(&s);
  ++s.pending;
  if (!s.Await()) return false;
  grpc::Slice empty("");  // HealthCheckRequest{} (the whole server)
  grpc::ByteBuffer request(&empty, 1);
  s.call->Write(request, &s);
  ++s.pending;
  if (!s.Await()) return false;
  grpc::ByteBuffer response;
  s.call->Read(&response, &s);
  ++s.pending;
  return s.Await();
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::string& data_dir,
                                                    const std::vector<std::string>& extra_args) {
  auto server = std::unique_ptr<ServerProcess>(new ServerProcess());
  const int port = FreeLoopbackPort();
  server->address_ = "127.0.0.1:" + std::to_string(port);
  server->log_path_ = data_dir + ".server.log";
  std::vector<std::string> args = {
      GRAPHOPT_SERVER_BINARY, "--listen",   server->address_, "--metrics-listen",
      "127.0.0.1:0",          "--data-dir", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(server->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  server->pid_ = pid;
  server->channel_ = grpc::CreateChannel(server->address_, grpc::InsecureChannelCredentials());
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    if (!server->Running()) {
      // The free port can be taken by a concurrently running test before the server binds
      // it: start again on a fresh port (a few times) rather than fail.
      static thread_local int retries = 0;
      if (server->Log().find("listen_failed") != std::string::npos && retries < 5) {
        ++retries;
        auto again = Start(data_dir, extra_args);
        --retries;
        return again;
      }
      ADD_FAILURE() << "graphopt-server exited at start-up:\n" << server->Log();
      return nullptr;
    }
    if (HealthStatus(server->channel_) == 1) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "graphopt-server did not report SERVING:\n" << server->Log();
  return nullptr;
}

ServerProcess::~ServerProcess() { Kill(); }

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ServerProcess::SendTerminate() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

int ServerProcess::Terminate(int timeout_seconds) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return WaitForExit(timeout_seconds);
}

int ServerProcess::WaitForExit(int timeout_seconds) {
  if (pid_ <= 0) return -1;
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::unique_ptr<v1::OptimizerService::Stub> ServerProcess::NewStub() const {
  return v1::OptimizerService::NewStub(channel_);
}

std::string ServerProcess::Log() const { return ReadFileBytes(log_path_); }

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

grpc::Status UploadBytes(v1::OptimizerService::Stub& stub, const std::string& bytes,
                         const std::string& file_name, v1::Model* model, v1::FileKind kind,
                         const std::string& sha256, size_t chunk_size) {
  grpc::ClientContext context;
  auto writer = stub.UploadModel(&context, model);
  v1::UploadModelRequest request;
  request.mutable_metadata()->set_file_name(file_name);
  request.mutable_metadata()->set_declared_size(static_cast<int64_t>(bytes.size()));
  request.mutable_metadata()->set_sha256(sha256);
  request.mutable_metadata()->set_kind(kind);
  bool ok = writer->Write(request);
  for (size_t offset = 0; ok && offset < bytes.size(); offset += chunk_size) {
    request.Clear();
    request.set_chunk(bytes.substr(offset, chunk_size));
    ok = writer->Write(request);
  }
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status UploadFile(v1::OptimizerService::Stub& stub, const std::string& path, v1::Model* model,
                        v1::FileKind kind) {
  return UploadBytes(stub, ReadFileBytes(path), path.substr(path.rfind('/') + 1), model, kind);
}

grpc::Status CreateJob(v1::OptimizerService::Stub& stub, const v1::CreateJobRequest& request,
                       v1::Job* job) {
  grpc::ClientContext context;
  return stub.CreateJob(&context, request, job);
}

grpc::Status GetJob(v1::OptimizerService::Stub& stub, const std::string& id, v1::Job* job) {
  grpc::ClientContext context;
  v1::GetJobRequest request;
  request.set_job_id(id);
  return stub.GetJob(&context, request, job);
}

grpc::Status CancelJob(v1::OptimizerService::Stub& stub, const std::string& id, v1::Job* job) {
  grpc::ClientContext context;
  v1::CancelJobRequest request;
  request.set_job_id(id);
  return stub.CancelJob(&context, request, job);
}

grpc::Status WatchJob(v1::OptimizerService::Stub& stub, const std::string& id,
                      std::vector<v1::JobEvent>* events, int timeout_seconds) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
  v1::WatchJobRequest request;
  request.set_job_id(id);
  auto reader = stub.WatchJob(&context, request);
  v1::JobEvent event;
  while (reader->Read(&event)) events->push_back(event);
  return reader->Finish();
}

grpc::Status Download(v1::OptimizerService::Stub& stub, const std::string& id,
                      v1::ArtifactKind kind, std::string* bytes) {
  grpc::ClientContext context;
  v1::DownloadArtifactRequest request;
  request.set_job_id(id);
  request.set_kind(kind);
  auto reader = stub.DownloadArtifact(&context, request);
  v1::ArtifactChunk chunk;
  bytes->clear();
  int64_t total = -1;
  while (reader->Read(&chunk)) {
    if (chunk.offset() == 0) total = chunk.total_size();
    EXPECT_EQ(chunk.offset(), static_cast<int64_t>(bytes->size()));
    bytes->append(chunk.data());
  }
  grpc::Status status = reader->Finish();
  if (status.ok()) {
    EXPECT_EQ(total, static_cast<int64_t>(bytes->size()));
  }
  return status;
}

v1::Job WaitForFinish(v1::OptimizerService::Stub& stub, const std::string& id,
                      int timeout_seconds) {
  v1::Job job;
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline) {
    job.Clear();
    grpc::Status status = GetJob(stub, id, &job);
    if (status.ok() &&
        (job.state() == v1::JOB_STATE_SUCCEEDED || job.state() == v1::JOB_STATE_FAILED ||
         job.state() == v1::JOB_STATE_CANCELLED)) {
      return job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " did not finish in " << timeout_seconds << " s";
  return job;
}

bool WaitForRunningPass(v1::OptimizerService::Stub& stub, const std::string& id,
                        int timeout_seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline) {
    v1::Job job;
    if (GetJob(stub, id, &job).ok() && job.state() == v1::JOB_STATE_RUNNING &&
        !job.progress().pass_name().empty()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace graphopt::testing
