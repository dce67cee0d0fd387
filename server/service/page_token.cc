// Page tokens: "v1.<seq>.<16 hex of sha256(scope, seq)>", base64url without padding.
#include "server/service/page_token.h"

#include <vector>

#include "server/store/sha256.h"

namespace graphopt::server {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    for (int shift : {18, 12, 6}) out += kAlphabet[(v >> shift) & 63];
  }
  return out;
}

bool FromBase64Url(const std::string& in, std::string* out) {
  if (in.size() % 4 == 1) return false;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
    if (at == nullptr) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(at - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return true;
}

std::string ScopeHash(const std::string& scope) { return Sha256Hex(scope).substr(0, 16); }

Status Invalid() {
  return InvalidArgument(
      "page_token is not one this server returned for these filters (tokens are opaque and "
      "only valid with the filters of the request that returned them)");
}

}  // namespace

std::string EncodePageToken(const std::string& scope, int64_t before_seq) {
  const std::string seq = std::to_string(before_seq);
  return Base64Url("v1." + seq + "." + ScopeHash(scope + "\n" + seq));
}

Result<int64_t> DecodePageToken(const std::string& scope, const std::string& token) {
  if (token.empty()) return int64_t{0};
  std::string text;
  if (token.size() > 256 || !FromBase64Url(token, &text)) return Invalid();
  const size_t dot = text.find('.', 3);
  if (text.rfind("v1.", 0) != 0 || dot == std::string::npos) return Invalid();
  const std::string seq = text.substr(3, dot - 3);
  if (seq.empty() || seq.size() > 18 || seq.find_first_not_of("0123456789") != std::string::npos) {
    return Invalid();
  }
  // The hash covers the cursor too: an edited token fails here, not just a reused one.
  if (text.substr(dot + 1) != ScopeHash(scope + "\n" + seq)) return Invalid();
  const int64_t value = std::stoll(seq);
  if (value <= 0) return Invalid();
  return value;
}

}  // namespace graphopt::server
