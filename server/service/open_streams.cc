// Registry of open long-lived streams, ended together when the server drains (open_streams.h).
#include "server/service/open_streams.h"

namespace graphopt::server {

std::variant<int64_t, grpc::Status> OpenStreams::Add(EndFunction end) {
  std::lock_guard lock(mu_);
  if (ended_) return *ended_;
  const int64_t token = next_token_++;
  streams_.emplace(token, std::move(end));
  return token;
}

void OpenStreams::Remove(int64_t token) {
  std::lock_guard lock(mu_);
  streams_.erase(token);
}

int OpenStreams::EndAll(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  ended_ = status;
  const int open = static_cast<int>(streams_.size());
  for (auto& [token, end] : streams_) end(status);
  streams_.clear();
  return open;
}

}  // namespace graphopt::server
