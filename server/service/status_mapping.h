// The one place where graphopt::Status becomes a grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "grpc_code_name.h"
#include "optimizer/util/status.h"

namespace graphopt::server {

grpc::Status ToGrpcStatus(const Status& status);

}  // namespace graphopt::server
