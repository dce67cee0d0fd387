// Who is calling: a bearer token (`authorization: Bearer TOKEN`) looked up in the tokens file, or
// the subject CN of a verified client certificate, names the caller's tenant. Without either
// configured every caller is the default tenant. Tokens are never stored or logged: the file
// holds their SHA-256, and lookups compare digests in constant time.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server_context.h>

#include "optimizer/util/status.h"

namespace graphopt::server {

struct AuthOptions {
  std::string tokens_file;           // lines "TENANT SHA256-HEX-OF-TOKEN"; "" = no tokens
  bool client_certificates = false;  // a verified client certificate's CN names the tenant
};

// True for 1-64 characters of [A-Za-z0-9._-]: what a tenant may be called.
bool IsValidTenantName(const std::string& name);

class Authenticator {
 public:
  // Reads the tokens file (kInvalidArgument naming the bad line when malformed).
  static Result<std::unique_ptr<Authenticator>> Create(const AuthOptions& options);
  ~Authenticator();

  // False: nothing is configured and every caller is the default tenant.
  bool enabled() const { return !options_.tokens_file.empty() || options_.client_certificates; }

  // The caller's tenant, or UNAUTHENTICATED (the message says what was missing, never the token).
  grpc::Status Authenticate(const grpc::ServerContextBase& call, std::string* tenant) const;

  // Re-reads the tokens file; on error the previous tokens stay in force.
  Status Reload();
  // Polls the tokens file and reloads it when its size or modification time changed.
  void WatchFile(std::chrono::milliseconds interval);
  size_t token_count() const;

 private:
  struct Entry {
    std::string tenant;
    std::array<unsigned char, 32> digest;
  };
  explicit Authenticator(AuthOptions options) : options_(std::move(options)) {}
  // The tenant whose token hashes to `digest`, or "" (every entry is compared).
  std::string LookUp(const std::array<unsigned char, 32>& digest) const;
  std::string FileStamp() const;

  AuthOptions options_;
  mutable std::shared_mutex mu_;
  std::vector<Entry> entries_;
  std::string stamp_;  // size and mtime of the file as last read

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace graphopt::server
