// Standard tooling against a real server: a reflection v1 client (what grpcurl and Postman ask
// for first) lists graphopt.v1 and grpc.health.v1 and can describe both from the descriptors it
// receives.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace refl = grpc::reflection::v1;
namespace pb = google::protobuf;

class ReflectionClient {
 public:
  explicit ReflectionClient(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(refl::ServerReflection::NewStub(channel)),
        stream_(stub_->ServerReflectionInfo(&context_)) {}
  ~ReflectionClient() {
    stream_->WritesDone();
    (void)stream_->Finish();
  }

  refl::ServerReflectionResponse Ask(const refl::ServerReflectionRequest& request) {
    refl::ServerReflectionResponse response;
    EXPECT_TRUE(stream_->Write(request));
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  // Asks for the file defining `symbol` and adds every file received to `pool` (imports first,
  // as a client must), returning false on an error response.
  bool Describe(const std::string& symbol, pb::DescriptorPool* pool, std::string* error) {
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    const auto response = Ask(request);
    if (response.has_error_response()) {
      *error = response.error_response().error_message();
      return false;
    }
    std::vector<pb::FileDescriptorProto> files;
    for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      files.emplace_back();
      if (!files.back().ParseFromString(bytes)) {
        *error = "a file descriptor does not parse";
        return false;
      }
    }
    // Imports come after the file that needs them: build in reverse.
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      if (pool->FindFileByName(it->name()) == nullptr && pool->BuildFile(*it) == nullptr) {
        *error = "cannot build " + it->name();
        return false;
      }
    }
    return true;
  }

 private:
  std::unique_ptr<refl::ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<refl::ServerReflectionRequest,
                                           refl::ServerReflectionResponse>>
      stream_;
};

std::set<std::string> MethodsOf(const pb::ServiceDescriptor* service) {
  std::set<std::string> names;
  for (int i = 0; i < service->method_count(); ++i) names.insert(service->method(i)->name());
  return names;
}

TEST_F(ServerE2eTest, ReflectionV1ListsAndDescribesTheApiAndHealth) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  ReflectionClient client(server->channel());

  refl::ServerReflectionRequest list;
  list.set_list_services("");
  const auto listed = client.Ask(list);
  std::set<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.insert(s.name());
  for (const std::string wanted :
       {"graphopt.v1.OptimizerService", "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_TRUE(services.count(wanted)) << wanted << " is not listed";
  }

  pb::DescriptorPool pool;  // only what the server sent, nothing compiled into this test
  std::string error;
  ASSERT_TRUE(client.Describe("graphopt.v1.OptimizerService", &pool, &error)) << error;
  const pb::ServiceDescriptor* api = pool.FindServiceByName("graphopt.v1.OptimizerService");
  ASSERT_NE(api, nullptr);
  const auto methods = MethodsOf(api);
  for (const std::string m :
       {"UploadModel", "CreateJob", "GetJob", "ListJobs", "CancelJob", "WatchJob",
        "DownloadArtifact"}) {
    EXPECT_TRUE(methods.count(m)) << m;
  }
  ASSERT_NE(pool.FindMessageTypeByName("graphopt.v1.CreateJobRequest"), nullptr);

  ASSERT_TRUE(client.Describe("grpc.health.v1.Health", &pool, &error)) << error;
  const pb::ServiceDescriptor* health = pool.FindServiceByName("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(MethodsOf(health), (std::set<std::string>{"Check", "Watch"}));
  const pb::EnumDescriptor* status =
      pool.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->FindValueByName("NOT_SERVING")->number(), 2);

  // An unknown symbol is an error response on the stream, which stays usable.
  refl::ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol("graphopt.v1.NoSuchService");
  const auto refused = client.Ask(unknown);
  ASSERT_TRUE(refused.has_error_response());
  EXPECT_EQ(refused.error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  ASSERT_TRUE(client.Describe("graphopt.v1.OptimizerService", &pool, &error)) << error;
}

}  // namespace
}  // namespace graphopt::testing
