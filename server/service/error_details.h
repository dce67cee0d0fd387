// The google.rpc error details every refusal of the service carries (ErrorInfo always,
// BadRequest for INVALID_ARGUMENT, RetryInfo when waiting can help), worked out from the code
// and message of the error in one table, so the layers below the service stay free of gRPC.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace graphopt::server {

inline constexpr const char* kErrorDomain = "graphopt.dev";

struct ErrorDetails {
  std::string reason;                           // UPPER_SNAKE_CASE, stable for programs
  std::map<std::string, std::string> metadata;  // lowerCamelCase keys: jobId, digest, field
  // INVALID_ARGUMENT: the request field at fault as a path ("options.target"); empty when the
  // request as a whole is at fault.
  std::optional<std::string> field;
  // RESOURCE_EXHAUSTED/UNAVAILABLE when a retry of the same call can succeed later.
  std::optional<std::chrono::milliseconds> retry_delay;
};

ErrorDetails ClassifyError(grpc::StatusCode code, const std::string& message);

// The serialized google.rpc.Status for the `grpc-status-details-bin` trailer.
std::string EncodeStatusDetails(grpc::StatusCode code, const std::string& message,
                                const ErrorDetails& details);

// `status` with its details attached (for statuses made outside ToGrpcStatus).
grpc::Status WithErrorDetails(const grpc::Status& status);

}  // namespace graphopt::server
