// Standard tooling against a real server: a reflection client on v1 (what grpcurl and Postman
// ask for first) and on v1alpha (older tools) lists graphopt.v1 and grpc.health.v1 and can
// describe both, down to their message types, from the descriptors it receives.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace refl = grpc::reflection::v1;
namespace pb = google::protobuf;

// The reflection stream of `service` ("grpc.reflection.v1.ServerReflection" or its v1alpha
// twin). v1alpha's messages are v1's under another package name, field for field, so one set
// of generated messages speaks both; the call is made by method path, as the stub would.
class ReflectionClient {
 public:
  ReflectionClient(const std::shared_ptr<grpc::Channel>& channel, const std::string& service)
      : method_path_("/" + service + "/ServerReflectionInfo"),
        method_(method_path_.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING, channel),
        stream_(grpc::internal::ClientReaderWriterFactory<
                refl::ServerReflectionRequest,
                refl::ServerReflectionResponse>::Create(channel.get(), method_, &context_)) {}
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
  std::string method_path_;
  grpc::internal::RpcMethod method_;
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<refl::ServerReflectionRequest, refl::ServerReflectionResponse>>
      stream_;
};

std::set<std::string> MethodsOf(const pb::ServiceDescriptor* service) {
  std::set<std::string> names;
  for (int i = 0; i < service->method_count(); ++i) names.insert(service->method(i)->name());
  return names;
}

class ReflectionTest : public ServerE2eTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ReflectionTest, ListsAndDescribesTheApiAndHealth) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  ReflectionClient client(server->channel(), GetParam());

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
  for (const std::string m : {"UploadModel", "CreateJob", "GetJob", "ListJobs", "CancelJob",
                              "WatchJob", "DownloadArtifact"}) {
    EXPECT_TRUE(methods.count(m)) << m;
  }
  // Down to the message types: a method's input and a nested field's type resolve.
  const pb::Descriptor* create = api->FindMethodByName("CreateJob")->input_type();
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->full_name(), "graphopt.v1.CreateJobRequest");
  ASSERT_NE(create->FindFieldByName("options"), nullptr);
  EXPECT_EQ(create->FindFieldByName("options")->message_type()->full_name(),
            "graphopt.v1.JobOptions");
  EXPECT_NE(create->FindFieldByName("labels"), nullptr);
  EXPECT_EQ(api->FindMethodByName("WatchJob")->output_type()->full_name(), "graphopt.v1.JobEvent");
  EXPECT_TRUE(api->FindMethodByName("WatchJob")->server_streaming());

  ASSERT_TRUE(client.Describe("grpc.health.v1.Health", &pool, &error)) << error;
  const pb::ServiceDescriptor* health = pool.FindServiceByName("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(MethodsOf(health), (std::set<std::string>{"Check", "Watch"}));
  EXPECT_EQ(health->FindMethodByName("Check")->input_type()->full_name(),
            "grpc.health.v1.HealthCheckRequest");
  ASSERT_NE(health->FindMethodByName("Check")->output_type()->FindFieldByName("status"), nullptr);
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

INSTANTIATE_TEST_SUITE_P(V1AndV1alpha, ReflectionTest,
                         ::testing::Values("grpc.reflection.v1.ServerReflection",
                                           "grpc.reflection.v1alpha.ServerReflection"),
                         [](const auto& info) {
                           return info.param.find("v1alpha") != std::string::npos ? "v1alpha"
                                                                                  : "v1";
                         });

}  // namespace
}  // namespace graphopt::testing
