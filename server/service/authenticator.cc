// Tokens file parsing, constant-time token lookup and client-certificate identities.
#include "server/service/authenticator.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "server/config/logging.h"
#include "server/service/error_details.h"
#include "server/store/job_record.h"

namespace graphopt::server {

namespace {

constexpr std::string_view kBearer = "Bearer ";

bool ParseHexDigest(const std::string& hex, std::array<unsigned char, 32>* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int value = 0;
    for (size_t k = 0; k < 2; ++k) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(hex[2 * i + k])));
      int nibble = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (nibble < 0) return false;
      value = value * 16 + nibble;
    }
    (*out)[i] = static_cast<unsigned char>(value);
  }
  return true;
}

grpc::Status Unauthenticated(const std::string& message) {
  return WithErrorDetails(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message));
}

}  // namespace

bool IsValidTenantName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const AuthOptions& options) {
  std::unique_ptr<Authenticator> auth(new Authenticator(options));
  if (!options.tokens_file.empty()) RETURN_IF_ERROR(auth->Reload());
  return auth;
}

Authenticator::~Authenticator() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::string Authenticator::FileStamp() const {
  struct stat st {};
  if (stat(options_.tokens_file.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_ino);
}

Status Authenticator::Reload() {
  if (options_.tokens_file.empty()) return Status::Ok();
  const std::string stamp = FileStamp();
  std::ifstream in(options_.tokens_file);
  if (!in) return InvalidArgument("cannot read the --auth-tokens file");
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line);
    std::string tenant, hex, extra;
    if (!(words >> tenant) || tenant[0] == '#') continue;
    const std::string where = "--auth-tokens line " + std::to_string(number) + ": ";
    if (!(words >> hex) || (words >> extra)) {
      return InvalidArgument(where + "expected 'TENANT SHA256-HEX-OF-TOKEN'");
    }
    if (!IsValidTenantName(tenant)) {
      return InvalidArgument(where + "a tenant name is 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    Entry entry{tenant, {}};
    if (!ParseHexDigest(hex, &entry.digest)) {
      return InvalidArgument(where + "the token's SHA-256 must be 64 hex digits "
                                     "(e.g. printf %s TOKEN | sha256sum)");
    }
    entries.push_back(std::move(entry));
  }
  {
    std::unique_lock lock(mu_);
    entries_ = std::move(entries);
    stamp_ = stamp;
  }
  LogEvent(spdlog::level::info, "auth_tokens_loaded", {{"tokens", token_count()}});
  return Status::Ok();
}

size_t Authenticator::token_count() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

void Authenticator::WatchFile(std::chrono::milliseconds interval) {
  if (options_.tokens_file.empty() || watcher_.joinable()) return;
  watcher_ = std::thread([this, interval] {
    std::unique_lock lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      std::string last;
      {
        std::shared_lock entries_lock(mu_);
        last = stamp_;
      }
      const std::string now = FileStamp();
      if (now.empty() || now == last) continue;
      Status reloaded = Reload();
      if (!reloaded.ok()) {
        LogEvent(spdlog::level::err, "auth_tokens_reload_failed",
                 {{"error", reloaded.message()}, {"kept_tokens", token_count()}});
        std::unique_lock entries_lock(mu_);
        stamp_ = now;  // report a bad file once, not at every poll
      }
    }
  });
}

std::string Authenticator::LookUp(const std::array<unsigned char, 32>& digest) const {
  std::shared_lock lock(mu_);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // No early exit: the time taken does not depend on which entry (if any) matches.
    const bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && found == nullptr) found = &entry;
  }
  return found ? found->tenant : std::string();
}

grpc::Status Authenticator::Authenticate(const grpc::ServerContextBase& call,
                                         std::string* tenant) const {
  if (!enabled()) {
    *tenant = kDefaultTenant;
    return grpc::Status::OK;
  }
  const auto& metadata = call.client_metadata();
  auto header = metadata.find("authorization");
  if (header != metadata.end()) {
    const std::string_view value(header->second.data(), header->second.size());
    if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
      return Unauthenticated("the authorization header must be 'Bearer TOKEN'");
    }
    const std::string_view token = value.substr(kBearer.size());
    std::array<unsigned char, 32> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
    std::string found = LookUp(digest);
    if (found.empty()) return Unauthenticated("the bearer token is not valid for this server");
    *tenant = std::move(found);
    return grpc::Status::OK;
  }
  if (options_.client_certificates) {
    auto auth_context = call.auth_context();
    if (auth_context && auth_context->IsPeerAuthenticated()) {
      auto names = auth_context->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
      if (!names.empty()) {
        std::string name(names.front().data(), names.front().size());
        if (!IsValidTenantName(name)) {
          return Unauthenticated(
              "the client certificate's CN is not a valid tenant name (A-Z a-z 0-9 . _ -)");
        }
        *tenant = std::move(name);
        return grpc::Status::OK;
      }
    }
  }
  return Unauthenticated(options_.client_certificates
                             ? "send 'authorization: Bearer TOKEN' or a client certificate"
                             : "send 'authorization: Bearer TOKEN'");
}

}  // namespace graphopt::server
