// Canonical names of gRPC status codes ("NOT_FOUND"), for logs, metrics and error messages.
#pragma once

#include <grpcpp/support/status.h>

namespace graphopt {

const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace graphopt
