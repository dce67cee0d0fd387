// Status -> grpc::Status: codes map one to one; messages are passed through unchanged because
// they are written to tell the user what to do; google.rpc details (error_details.h) ride along.
#include "server/service/status_mapping.h"

#include "server/service/error_details.h"

namespace graphopt::server {

grpc::Status ToGrpcStatus(const Status& status) {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kCancelled:
      code = grpc::StatusCode::CANCELLED;
      break;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kDeadlineExceeded:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case StatusCode::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case StatusCode::kUnimplemented:
      code = grpc::StatusCode::UNIMPLEMENTED;
      break;
    case StatusCode::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
  }
  const std::string message = RedactServerPaths(status.message());
  return grpc::Status(code, message,
                      EncodeStatusDetails(code, message, ClassifyError(code, message)));
}

std::string RedactServerPaths(const std::string& message) {
  auto starts_path = [&](size_t i) {
    if (message[i] != '/' || i + 1 >= message.size() || message[i + 1] == '/' ||
        message[i + 1] == ' ') {
      return false;
    }
    return i == 0 || std::string_view(" '\"(=[").find(message[i - 1]) != std::string_view::npos;
  };
  auto ends_path = [](char c) {
    return std::string_view(" '\"),:;]\n").find(c) != std::string_view::npos;
  };
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size();) {
    if (!starts_path(i)) {
      out += message[i++];
      continue;
    }
    size_t end = i;
    int slashes = 0;
    while (end < message.size() && !ends_path(message[end])) slashes += message[end++] == '/';
    if (slashes >= 2) {
      out += "<server path>";
    } else {
      out.append(message, i, end - i);  // "/metrics", "1/2": not a file system path
    }
    i = end;
  }
  return out;
}


}  // namespace graphopt::server
