// The one place where graphopt::Status becomes a grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "optimizer/util/status.h"

namespace graphopt::server {

grpc::Status ToGrpcStatus(const Status& status);

// "OK", "NOT_FOUND", ...: the label the observer gets for a finished RPC.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace graphopt::server
