// grpc.reflection.v1.ServerReflection: the stable reflection protocol, which gRPC 1.51 does not
// ship (its plugin serves only v1alpha). Answers from the process's generated descriptor pool,
// so every service compiled in (graphopt.v1, grpc.health.v1, both reflection versions) can be
// listed and described.
#pragma once

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace graphopt::server {

class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: the fully qualified names ListServices reports.
  explicit ReflectionV1Service(std::vector<std::string> services);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

 private:
  std::vector<std::string> services_;
};

}  // namespace graphopt::server
