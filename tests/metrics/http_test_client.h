// A tiny blocking HTTP/1.1 client and free-port finder for the metrics tests (Boost.Beast).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace graphopt::testing {

struct HttpResponse {
  int status = 0;  // 0 when the request failed at the socket level
  std::string content_type;
  std::string allow;
  std::string body;
  bool keep_alive = false;
  std::string error;  // socket/parse error, when status is 0
};

// One request on a fresh connection to 127.0.0.1:port.
HttpResponse HttpRequest(uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body = "");

// A connection kept open across requests (keep-alive).
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port);
  ~HttpConnection();
  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body = "");
  // True when the server has closed its side (a read returns end of stream).
  bool ClosedByPeer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t FreeLoopbackPort();

// "a b{c}" -> "a%20b%7Bc%7D": for query strings.
std::string UrlEncode(const std::string& s);

}  // namespace graphopt::testing
