// The UploadModel stream: metadata first, then chunks written straight into a BlobWriter.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "graphopt/v1/optimizer.pb.h"
#include "server/service/service_context.h"

namespace graphopt::server {

grpc::ServerReadReactor<graphopt::v1::UploadModelRequest>* NewUploadModelReactor(
    ServiceContext& context, grpc::CallbackServerContext* call, graphopt::v1::Model* response,
    const std::string& tenant);

}  // namespace graphopt::server
