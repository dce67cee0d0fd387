// Issue 14's "done when", against a real graphopt-server: TLS with two tenants' bearer tokens,
// isolation of everything one tenant owns, UNAUTHENTICATED for a wrong token, plaintext refused,
// mutual TLS naming a tenant by its certificate, quotas, the oversized-option attack, and the
// refusal to listen beyond loopback without authentication.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <thread>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "security/secure_server.h"
#include "server/e2e_fixture.h"
#include "server/store/sqlite_job_store.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;
using Stub = v1::OptimizerService::Stub;

constexpr const char* kTokenA = "token-of-tenant-a-0123456789";
constexpr const char* kTokenB = "token-of-tenant-b-9876543210";

grpc::Status Upload(Stub& stub, const std::string& token, const std::string& bytes,
                    v1::Model* model, v1::FileKind kind = v1::FILE_KIND_ONNX_MODEL) {
  auto context = WithToken(token);
  auto writer = stub.UploadModel(context.get(), model);
  v1::UploadModelRequest request;
  request.mutable_metadata()->set_file_name("m.onnx");
  request.mutable_metadata()->set_declared_size(static_cast<int64_t>(bytes.size()));
  request.mutable_metadata()->set_kind(kind);
  bool ok = writer->Write(request);
  request.Clear();
  request.set_chunk(bytes);
  if (ok) writer->Write(request);
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status Create(Stub& stub, const std::string& token, const v1::CreateJobRequest& request,
                    v1::Job* job) {
  auto context = WithToken(token);
  return stub.CreateJob(context.get(), request, job);
}

grpc::Status Get(Stub& stub, const std::string& token, const std::string& id, v1::Job* job) {
  auto context = WithToken(token);
  v1::GetJobRequest request;
  request.set_job_id(id);
  return stub.GetJob(context.get(), request, job);
}

grpc::Status List(Stub& stub, const std::string& token, v1::ListJobsResponse* response,
                  int page_size = 0) {
  auto context = WithToken(token);
  v1::ListJobsRequest request;
  request.set_page_size(page_size);
  return stub.ListJobs(context.get(), request, response);
}

grpc::Status Cancel(Stub& stub, const std::string& token, const std::string& id) {
  auto context = WithToken(token);
  v1::CancelJobRequest request;
  request.set_job_id(id);
  v1::Job job;
  return stub.CancelJob(context.get(), request, &job);
}

grpc::Status Watch(Stub& stub, const std::string& token, const std::string& id, int* events) {
  auto context = WithToken(token);
  v1::WatchJobRequest request;
  request.set_job_id(id);
  auto reader = stub.WatchJob(context.get(), request);
  v1::JobEvent event;
  *events = 0;
  while (reader->Read(&event)) ++*events;
  return reader->Finish();
}

grpc::Status DownloadModel(Stub& stub, const std::string& token, const std::string& id,
                           std::string* bytes) {
  auto context = WithToken(token);
  v1::DownloadArtifactRequest request;
  request.set_job_id(id);
  auto reader = stub.DownloadArtifact(context.get(), request);
  v1::ArtifactChunk chunk;
  bytes->clear();
  while (reader->Read(&chunk)) bytes->append(chunk.data());
  return reader->Finish();
}

v1::Job WaitDone(Stub& stub, const std::string& token, const std::string& id) {
  v1::Job job;
  for (int i = 0; i < 3000; ++i) {
    job.Clear();
    if (Get(stub, token, id, &job).ok() && (job.state() == v1::JOB_STATE_SUCCEEDED ||
                                            job.state() == v1::JOB_STATE_FAILED ||
                                            job.state() == v1::JOB_STATE_CANCELLED)) {
      return job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return job;
}

class SecurityE2eTest : public ServerE2eTest {
 protected:
  void SetUp() override {
    ServerE2eTest::SetUp();
    std::filesystem::create_directories(root_ + "/certs");
    certs_ = std::make_unique<TestCertificates>(root_ + "/certs");
    ASSERT_TRUE(certs_->ok()) << certs_->error();
    tokens_ = root_ + "/tokens";
    WriteFileBytes(tokens_, "# tenant sha256(token)\ntenant-a " + Sha256HexOf(kTokenA) +
                                "\ntenant-b " + Sha256HexOf(kTokenB) + "\n");
  }

  std::vector<std::string> TlsArgs() const {
    return {"--tls-cert", certs_->server_cert(), "--tls-key", certs_->server_key(),
            "--auth-tokens", tokens_, "--workers", "1"};
  }

  std::unique_ptr<TestCertificates> certs_;
  std::string tokens_;
};

TEST_F(SecurityE2eTest, TenantsOverTlsSeeOnlyTheirOwnJobsModelsAndKeys) {
  auto server = SecureServer::Start(DataDir(), TlsArgs(), TlsCredentials(*certs_));
  ASSERT_NE(server, nullptr);
  auto stub = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_)));
  const std::string model_bytes = ReadFileBytes(WriteTinyModel("a.onnx", 1));

  // Tenant A submits over TLS.
  v1::Model model;
  ASSERT_TRUE(Upload(*stub, kTokenA, model_bytes, &model).ok());
  v1::CreateJobRequest request = JobRequest(model.digest());
  request.set_idempotency_key("nightly-build");
  v1::Job a_job;
  ASSERT_TRUE(Create(*stub, kTokenA, request, &a_job).ok());
  ASSERT_EQ(WaitDone(*stub, kTokenA, a_job.id()).state(), v1::JOB_STATE_SUCCEEDED);
  std::string artifact;
  ASSERT_TRUE(DownloadModel(*stub, kTokenA, a_job.id(), &artifact).ok());
  EXPECT_FALSE(artifact.empty());

  // Tenant B: A's job does not exist for it.
  v1::Job seen;
  EXPECT_EQ(Get(*stub, kTokenB, a_job.id(), &seen).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DownloadModel(*stub, kTokenB, a_job.id(), &artifact).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Cancel(*stub, kTokenB, a_job.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  int events = 0;
  EXPECT_EQ(Watch(*stub, kTokenB, a_job.id(), &events).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(events, 0);
  v1::ListJobsResponse listed;
  ASSERT_TRUE(List(*stub, kTokenB, &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);
  // Nor its upload: rebuilding A's model through a LEVEL_DISABLED job on its digest fails.
  v1::Job stolen;
  EXPECT_EQ(Create(*stub, kTokenB, JobRequest(model.digest(), "disabled"), &stolen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Reusing A's idempotency key (on B's own upload of other bytes) makes B's own job.
  v1::Model b_model;
  ASSERT_TRUE(Upload(*stub, kTokenB, ReadFileBytes(WriteTinyModel("b.onnx", 2)), &b_model).ok());
  v1::CreateJobRequest b_request = JobRequest(b_model.digest());
  b_request.set_idempotency_key("nightly-build");
  v1::Job b_job;
  ASSERT_TRUE(Create(*stub, kTokenB, b_request, &b_job).ok());
  EXPECT_NE(b_job.id(), a_job.id());
  // The same bytes uploaded by B are B's; the result cache does not hand over A's job.
  v1::Model same_bytes;
  ASSERT_TRUE(Upload(*stub, kTokenB, model_bytes, &same_bytes).ok());
  v1::Job b_same;
  ASSERT_TRUE(Create(*stub, kTokenB, JobRequest(same_bytes.digest()), &b_same).ok());
  EXPECT_TRUE(b_same.cached_from_job_id().empty()) << b_same.cached_from_job_id();

  // A still sees exactly its own job.
  listed.Clear();
  ASSERT_TRUE(List(*stub, kTokenA, &listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  EXPECT_EQ(listed.jobs(0).id(), a_job.id());

  // Every graphopt.v1 call needs a valid identity; health checking stays open.
  EXPECT_EQ(Get(*stub, "wrong-token", a_job.id(), &seen).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List(*stub, "", &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::Model anonymous;
  EXPECT_EQ(Upload(*stub, "", model_bytes, &anonymous).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(HealthStatus(server->Channel(TlsCredentials(*certs_))), 1);
  // Reflection would answer anyone: it is not served when callers must authenticate.
  {
    auto reflection = grpc::reflection::v1::ServerReflection::NewStub(
        server->Channel(TlsCredentials(*certs_)));
    grpc::ClientContext context;
    auto stream = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1::ServerReflectionRequest ask;
    ask.set_list_services("");
    stream->Write(ask);
    stream->WritesDone();
    grpc::reflection::v1::ServerReflectionResponse answer;
    EXPECT_FALSE(stream->Read(&answer));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }

  // The audit log names tenants and methods, never a token.
  const std::string log = server->Log();
  EXPECT_NE(log.find("audit"), std::string::npos);
  EXPECT_NE(log.find("UNAUTHENTICATED"), std::string::npos);
  EXPECT_EQ(log.find(kTokenA), std::string::npos);
  EXPECT_EQ(log.find("wrong-token"), std::string::npos);

  // A plaintext client gets nowhere.
  auto plain = v1::OptimizerService::NewStub(server->Channel(grpc::InsecureChannelCredentials()));
  EXPECT_NE(List(*plain, kTokenA, &listed).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(HealthStatus(server->Channel(grpc::InsecureChannelCredentials())), -1);

  // Data files are the server's alone.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(DataDir())) {
    struct stat st {};
    ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << entry.path();
  }
}

TEST_F(SecurityE2eTest, TokensFileIsReloadedWhenItChangesAndOnSighup) {
  auto server = SecureServer::Start(DataDir(), TlsArgs(), TlsCredentials(*certs_));
  ASSERT_NE(server, nullptr);
  auto stub = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_)));
  v1::ListJobsResponse listed;
  ASSERT_EQ(List(*stub, "token-of-d", &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  WriteFileBytes(tokens_, "tenant-d " + Sha256HexOf("token-of-d") + "\n");
  server->Signal(SIGHUP);
  bool accepted = false;
  for (int i = 0; i < 100 && !accepted; ++i) {
    accepted = List(*stub, "token-of-d", &listed).ok();
    if (!accepted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(accepted) << server->Log();
  EXPECT_EQ(List(*stub, kTokenA, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Without a signal: the file is polled.
  WriteFileBytes(tokens_, "tenant-e " + Sha256HexOf("token-of-e") + "\n");
  accepted = false;
  for (int i = 0; i < 100 && !accepted; ++i) {
    accepted = List(*stub, "token-of-e", &listed).ok();
    if (!accepted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(accepted) << server->Log();
}

TEST_F(SecurityE2eTest, RenewedCertificatesAreServedWithoutARestart) {
  // The server reads its certificate from "live" files; a renewal replaces them (atomically, as
  // a Kubernetes Secret update does) with a certificate from another CA.
  const std::string live = root_ + "/live";
  std::filesystem::create_directories(live);
  std::filesystem::copy_file(certs_->server_cert(), live + "/tls.crt");
  std::filesystem::copy_file(certs_->server_key(), live + "/tls.key");
  std::vector<std::string> args = {"--tls-cert", live + "/tls.crt", "--tls-key", live + "/tls.key",
                                   "--auth-tokens", tokens_, "--tls-refresh-seconds", "1"};
  auto server = SecureServer::Start(DataDir(), args, TlsCredentials(*certs_));
  ASSERT_NE(server, nullptr);
  auto old_stub = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_)));
  v1::ListJobsResponse listed;
  ASSERT_TRUE(List(*old_stub, kTokenA, &listed).ok());

  std::filesystem::create_directories(root_ + "/renewed");
  TestCertificates renewed(root_ + "/renewed");
  ASSERT_TRUE(renewed.ok()) << renewed.error();
  std::filesystem::copy_file(renewed.server_key(), live + "/tls.key.new");
  std::filesystem::copy_file(renewed.server_cert(), live + "/tls.crt.new");
  std::filesystem::rename(live + "/tls.key.new", live + "/tls.key");
  std::filesystem::rename(live + "/tls.crt.new", live + "/tls.crt");

  bool renewed_served = false;
  for (int i = 0; i < 100 && !renewed_served; ++i) {
    renewed_served = HealthStatus(server->Channel(TlsCredentials(renewed))) == 1;
    if (!renewed_served) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(renewed_served) << server->Log();
  // New connections trusting only the old CA now fail; the established one keeps working.
  EXPECT_EQ(HealthStatus(server->Channel(TlsCredentials(*certs_))), -1);
  EXPECT_TRUE(List(*old_stub, kTokenA, &listed).ok());
}

TEST_F(SecurityE2eTest, MutualTlsNamesTheTenantByTheClientCertificate) {
  ASSERT_TRUE(certs_->MakeClient("tenant-c"));
  ASSERT_TRUE(certs_->MakeClient("tenant-x"));
  auto server = SecureServer::Start(
      DataDir(),
      {"--tls-cert", certs_->server_cert(), "--tls-key", certs_->server_key(), "--tls-client-ca",
       certs_->ca(), "--workers", "1"},
      TlsCredentials(*certs_, "tenant-c"));
  ASSERT_NE(server, nullptr);
  auto c = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_, "tenant-c")));
  auto x = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_, "tenant-x")));
  v1::Model model;
  ASSERT_TRUE(Upload(*c, "", ReadFileBytes(WriteTinyModel("c.onnx", 3)), &model).ok());
  v1::Job job;
  ASSERT_TRUE(Create(*c, "", JobRequest(model.digest()), &job).ok());
  v1::ListJobsResponse listed;
  ASSERT_TRUE(List(*c, "", &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 1);
  v1::Job seen;
  EXPECT_EQ(Get(*x, "", job.id(), &seen).error_code(), grpc::StatusCode::NOT_FOUND);
  listed.Clear();
  ASSERT_TRUE(List(*x, "", &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);
  // Without a client certificate the handshake itself fails.
  auto anonymous = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_)));
  EXPECT_NE(List(*anonymous, "", &listed).error_code(), grpc::StatusCode::OK);
}

TEST_F(SecurityE2eTest, TenantQuotasRefuseWithResourceExhausted) {
  std::vector<std::string> args = TlsArgs();
  for (const std::string a : {"--tenant-max-queued-jobs", "1", "--tenant-max-storage-bytes",
                              "64KB", "--debug-pass-delay-ms", "400"}) {
    args.push_back(a);
  }
  auto server = SecureServer::Start(DataDir(), args, TlsCredentials(*certs_));
  ASSERT_NE(server, nullptr);
  auto stub = v1::OptimizerService::NewStub(server->Channel(TlsCredentials(*certs_)));
  v1::Model model;
  ASSERT_TRUE(Upload(*stub, kTokenA, ReadFileBytes(WriteTinyModel("q.onnx", 4)), &model).ok());
  v1::Job first, second;
  ASSERT_TRUE(Create(*stub, kTokenA, JobRequest(model.digest()), &first).ok());
  grpc::Status refused = Create(*stub, kTokenA, JobRequest(model.digest(), "extended"), &second);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("tenant-max-queued-jobs"), std::string::npos)
      << refused.error_message();
  // B has its own quota.
  v1::Model b_model;
  ASSERT_TRUE(Upload(*stub, kTokenB, ReadFileBytes(WriteTinyModel("qb.onnx", 5)), &b_model).ok());
  v1::Job b_job;
  EXPECT_TRUE(Create(*stub, kTokenB, JobRequest(b_model.digest()), &b_job).ok());

  v1::Model big;
  refused = Upload(*stub, kTokenA, std::string(100 * 1024, 'x'), &big,
                   v1::FILE_KIND_EXTERNAL_DATA);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("tenant-max-storage-bytes"), std::string::npos)
      << refused.error_message();
}

TEST_F(SecurityE2eTest, OversizedOptionsAreRefusedAndListJobsKeepsWorking) {
  auto server = SecureServer::Start(DataDir(), {"--workers", "1"},
                                    grpc::InsecureChannelCredentials());
  ASSERT_NE(server, nullptr);
  auto stub = v1::OptimizerService::NewStub(server->Channel(grpc::InsecureChannelCredentials()));
  v1::Model model;
  ASSERT_TRUE(Upload(*stub, "", ReadFileBytes(WriteTinyModel("o.onnx", 6)), &model).ok());
  for (int i = 0; i < 3; ++i) {
    v1::CreateJobRequest request = JobRequest(model.digest());
    request.mutable_options()->add_enable_passes(std::string(3 << 20, 'a' + i));
    v1::Job job;
    EXPECT_EQ(Create(*stub, "", request, &job).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::CreateJobRequest many_dims = JobRequest(model.digest());
  for (int i = 0; i < 1000; ++i) (*many_dims.mutable_options()->mutable_dims())["d" + std::to_string(i)] = 1;
  v1::Job job;
  EXPECT_EQ(Create(*stub, "", many_dims, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Create(*stub, "", JobRequest(model.digest()), &job).ok());
  v1::ListJobsResponse listed;
  ASSERT_TRUE(List(*stub, "", &listed, 500).ok());
  EXPECT_EQ(listed.jobs_size(), 1);
}

// Jobs stored before the limits existed (3 MiB of options each) are listed in pages that fit the
// message limit instead of failing ListJobs for everyone.
TEST_F(SecurityE2eTest, ListJobsPagesByBytesOverJobsStoredBeforeTheLimits) {
  std::filesystem::create_directories(DataDir());
  {
    auto store = server::SqliteJobStore::Open(DataDir() + "/graphopt.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 3; ++i) {
      server::JobRecord job;
      job.id = "legacy-" + std::to_string(i);
      job.state = server::JobState::kFailed;
      job.model_digest = "sha256:" + std::string(64, 'a');
      job.options.enable = {std::string(3 << 20, static_cast<char>('a' + i))};
      ASSERT_TRUE((*store)->InsertJob(job).ok());
    }
  }
  auto server = SecureServer::Start(DataDir(), {"--workers", "1"},
                                    grpc::InsecureChannelCredentials());
  ASSERT_NE(server, nullptr);
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(8 << 20);
  auto stub = v1::OptimizerService::NewStub(grpc::CreateCustomChannel(
      server->address(), grpc::InsecureChannelCredentials(), arguments));
  std::set<std::string> seen;
  v1::ListJobsRequest request;
  request.set_page_size(500);
  for (int page = 0; page < 5; ++page) {
    grpc::ClientContext context;
    v1::ListJobsResponse response;
    grpc::Status status = stub->ListJobs(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(response.jobs_size(), 2);
    for (const auto& job : response.jobs()) seen.insert(job.id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(SecurityE2eTest, ListeningBeyondLoopbackWithoutAuthenticationIsRefused) {
  const std::string port = std::to_string(FreeLoopbackPort());
  const std::string base = std::string("'") + GRAPHOPT_SERVER_BINARY + "' --data-dir '" +
                           DataDir("refused") + "' --metrics-listen off --listen 0.0.0.0:" + port;
  const std::string out = root_ + "/refused.log";
  EXPECT_EQ(Shell(base + " >'" + out + "' 2>&1"), 2);
  const std::string message = ReadFileBytes(out);
  EXPECT_NE(message.find("--auth-tokens"), std::string::npos) << message;
  EXPECT_NE(message.find("--allow-unauthenticated"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(DataDir("refused")));
}

}  // namespace
}  // namespace graphopt::testing
