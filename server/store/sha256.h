// SHA-256 for content addressing: incremental hashing of streamed bytes and of files. Uses
// OpenSSL's EVP interface (libssl-dev), a vetted implementation rather than a hand-written one.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "optimizer/util/status.h"

namespace graphopt::server {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Lower-case hex of the digest; the hasher must not be updated afterwards.
  std::string FinishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string Sha256Hex(std::string_view bytes);

// Digests are written "sha256:<64 lower-case hex>" everywhere in the server and the API.
inline constexpr std::string_view kDigestPrefix = "sha256:";
std::string DigestFromHex(const std::string& hex);
// True for "sha256:" followed by 64 lower-case hex digits.
bool IsValidDigest(std::string_view digest);

}  // namespace graphopt::server
