// The audit line of service_context.h.
#include "server/config/logging.h"
#include "server/service/service_context.h"

namespace graphopt::server {

void AuditLog(const grpc::ServerContextBase& call, std::string_view method,
              const std::string& tenant, std::string_view subject_kind, const std::string& subject,
              const grpc::Status& status) {
  LogFields fields = {{"method", std::string(method)},
                      {"tenant", tenant.empty() ? "-" : tenant},
                      {"code", GrpcCodeName(status.error_code())},
                      {"peer", call.peer()}};
  if (!subject.empty()) {
    // Bounded: a refused request's id may be anything the client sent.
    fields.emplace_back(std::string(subject_kind), subject.substr(0, 128));
  }
  LogEvent(status.ok() ? spdlog::level::info : spdlog::level::warn, "audit", fields);
}

}  // namespace graphopt::server
