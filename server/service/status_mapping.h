// The one place where graphopt::Status becomes a grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "grpc_code_name.h"
#include "optimizer/util/status.h"

namespace graphopt::server {

// Every error carries google.rpc details in `grpc-status-details-bin` (error_details.h).
// Messages reach clients without the server's file system paths (each absolute path becomes
// "<server path>"); the logs keep them.
grpc::Status ToGrpcStatus(const Status& status);
std::string RedactServerPaths(const std::string& message);

}  // namespace graphopt::server
