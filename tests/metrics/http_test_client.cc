// Blocking Beast client used by the metrics HTTP and Prometheus tests.
#include "metrics/http_test_client.h"

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>

namespace graphopt::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpConnection::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string connect_error;
};

HttpConnection::HttpConnection(uint16_t port) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(10));
  impl_->stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) impl_->connect_error = ec.message();
}

HttpConnection::~HttpConnection() = default;

HttpResponse HttpConnection::Request(const std::string& method, const std::string& target,
                                     const std::string& body) {
  HttpResponse out;
  if (!impl_->connect_error.empty()) {
    out.error = "connect: " + impl_->connect_error;
    return out;
  }
  bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
  if (req.method() == bhttp::verb::unknown) req.method_string(method);
  req.set(bhttp::field::host, "127.0.0.1");
  req.keep_alive(true);
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  beast::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(10));
  bhttp::write(impl_->stream, req, ec);
  if (ec) {
    out.error = "write: " + ec.message();
    return out;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(method == "HEAD");  // a HEAD response has a Content-Length but no body
  bhttp::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec) {
    out.error = "read: " + ec.message();
    return out;
  }
  const auto& res = parser.get();
  out.status = res.result_int();
  out.content_type = std::string(res[bhttp::field::content_type]);
  out.allow = std::string(res[bhttp::field::allow]);
  out.body = res.body();
  out.keep_alive = res.keep_alive();
  return out;
}

bool HttpConnection::ClosedByPeer() {
  beast::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(10));
  char byte;
  impl_->stream.read_some(net::buffer(&byte, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

HttpResponse HttpRequest(uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body) {
  HttpConnection connection(port);
  return connection.Request(method, target, body);
}

uint16_t FreeLoopbackPort() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace graphopt::testing
