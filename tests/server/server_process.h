// End-to-end test support: a real graphopt-server child process on a free loopback port with
// its own data folder, plus small helpers to call it.
#pragma once

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "graphopt/v1/optimizer.grpc.pb.h"

namespace graphopt::testing {

class ServerProcess {
 public:
  // Starts graphopt-server with --data-dir `data_dir` and `extra_args`, and waits until its
  // health check reports SERVING. Fails the current test (and returns null) when it does not.
  static std::unique_ptr<ServerProcess> Start(const std::string& data_dir,
                                              const std::vector<std::string>& extra_args = {});
  ~ServerProcess();

  // SIGKILL: a crash, nothing flushed.
  void Kill();
  // SIGTERM and wait; returns the exit status (-1 when it did not exit in time).
  int Terminate(int timeout_seconds = 60);
  // SIGTERM without waiting; WaitForExit collects the exit status (-1 when it did not exit in
  // time). A second SIGTERM is not sent: a BLAS thread pool started before main() leaves the
  // signal unblocked in its threads, so while the server drains one would kill it.
  void SendTerminate();
  int WaitForExit(int timeout_seconds = 60);
  bool Running();

  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<graphopt::v1::OptimizerService::Stub> NewStub() const;
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::string log_path_;
  std::shared_ptr<grpc::Channel> channel_;
};

int FreeLoopbackPort();

// grpc.health.v1.Health/Check for `service` ("" = the server): 1 = SERVING, 2 = NOT_SERVING,
// -1 when the call failed.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service = "");

// An open grpc.health.v1.Health/Watch stream (as a load balancer or sidecar keeps one), for
// tests of what such a stream does to shutdown. Open() returns true once the first status arrived.
class HealthWatch {
 public:
  explicit HealthWatch(std::shared_ptr<grpc::Channel> channel);
  ~HealthWatch();
  bool Open();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Uploads `bytes` in `chunk_size` pieces.
grpc::Status UploadBytes(graphopt::v1::OptimizerService::Stub& stub, const std::string& bytes,
                         const std::string& file_name, graphopt::v1::Model* model,
                         graphopt::v1::FileKind kind = graphopt::v1::FILE_KIND_ONNX_MODEL,
                         const std::string& sha256 = "", size_t chunk_size = 64 * 1024);
grpc::Status UploadFile(graphopt::v1::OptimizerService::Stub& stub, const std::string& path,
                        graphopt::v1::Model* model,
                        graphopt::v1::FileKind kind = graphopt::v1::FILE_KIND_ONNX_MODEL);

grpc::Status CreateJob(graphopt::v1::OptimizerService::Stub& stub,
                       const graphopt::v1::CreateJobRequest& request, graphopt::v1::Job* job);
grpc::Status GetJob(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                    graphopt::v1::Job* job);
grpc::Status CancelJob(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                       graphopt::v1::Job* job);
// Reads the whole WatchJob stream.
grpc::Status WatchJob(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                      std::vector<graphopt::v1::JobEvent>* events, int timeout_seconds = 300);
grpc::Status Download(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                      graphopt::v1::ArtifactKind kind, std::string* bytes);
// Polls GetJob until the job is in a terminal state (or the time runs out).
graphopt::v1::Job WaitForFinish(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                                int timeout_seconds = 300);
// Polls until the job has been RUNNING with at least one pass reported.
bool WaitForRunningPass(graphopt::v1::OptimizerService::Stub& stub, const std::string& id,
                        int timeout_seconds = 120);

std::string ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const std::string& bytes);

}  // namespace graphopt::testing
