// The audit line of service_context.h: one line per RPC, with its request id.
#include <cctype>
#include <cstdio>
#include <random>

#include "server/config/logging.h"
#include "server/service/service_context.h"

namespace graphopt::server {

namespace {

// A caller's x-request-id, reduced to characters safe in any log format and bounded; empty
// when none (or nothing usable) was sent.
std::string CallerRequestId(const grpc::ServerContextBase& call) {
  auto range = call.client_metadata().equal_range("x-request-id");
  if (range.first == range.second) return "";
  const grpc::string_ref value = range.first->second;
  std::string id;
  for (size_t i = 0; i < value.size() && id.size() < 64; ++i) {
    const char c = value.data()[i];
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == ':') {
      id += c;
    }
  }
  return id;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(random()));
  return buf;
}

}  // namespace

void AuditLog(const grpc::ServerContextBase& call, std::string_view method,
              const std::string& tenant, std::string_view subject_kind, const std::string& subject,
              const grpc::Status& status) {
  std::string request_id = CallerRequestId(call);
  const bool from_caller = !request_id.empty();
  if (!from_caller) request_id = NewRequestId();
  LogFields fields = {{"request_id", request_id},
                      {"method", std::string(method)},
                      {"tenant", tenant.empty() ? "-" : tenant},
                      {"code", GrpcCodeName(status.error_code())},
                      {"peer", call.peer()}};
  if (!subject.empty()) {
    // Bounded: a refused request's id may be anything the client sent.
    fields.emplace_back(std::string(subject_kind), subject.substr(0, 128));
  }
  LogEvent(status.ok() ? spdlog::level::info : spdlog::level::warn, "audit", fields);
  // Debug: what a support engineer asks next. Metadata keys only: values may hold credentials.
  if (spdlog::default_logger_raw()->should_log(spdlog::level::debug)) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : call.client_metadata()) {
      keys.emplace_back(key.data(), key.size());
    }
    LogEvent(spdlog::level::debug, "rpc_detail",
             {{"request_id", request_id},
              {"request_id_from", from_caller ? "x-request-id" : "generated"},
              {"method", std::string(method)},
              {"metadata_keys", keys},
              {"deadline_set", call.deadline() != std::chrono::system_clock::time_point::max()}});
  }
}

}  // namespace graphopt::server
