// The long-lived server streams (WatchJob, Health.Watch) a draining server tells to end: each
// registers how to finish itself, and EndAll() finishes them all with a status the client can act
// on, so none of them holds the shutdown; streams opened afterwards are refused with it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <variant>

#include <grpcpp/support/status.h>

namespace graphopt::server {

class OpenStreams {
 public:
  using EndFunction = std::function<void(const grpc::Status&)>;

  // Registers a stream; `end` is called at most once, from EndAll. Returns its token, or the
  // status to refuse the stream with when the streams were already ended.
  std::variant<int64_t, grpc::Status> Add(EndFunction end);
  // The stream finished by itself (call from the reactor's OnDone).
  void Remove(int64_t token);
  // Finishes every registered stream with `status` and refuses later ones with it. Returns how
  // many were open.
  int EndAll(const grpc::Status& status);

 private:
  // `end` runs under mu_: a reactor removes itself only from OnDone, which gRPC runs after its
  // Finish, on another thread, so an ended reactor is still alive while its `end` runs.
  std::mutex mu_;
  std::map<int64_t, EndFunction> streams_;
  int64_t next_token_ = 1;
  std::optional<grpc::Status> ended_;
};

}  // namespace graphopt::server
