// Boost.Beast implementation of MetricsHttpServer: an acceptor, one session per connection
// (HTTP/1.1 keep-alive, bounded requests, idle timeout), a small pool of io threads.
#include "server/http/metrics_http_server.h"

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/metrics/text_format.h"

namespace graphopt::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

HttpReply Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body), false};
}

}  // namespace

HttpReply RouteRequest(std::string_view method, std::string_view target,
                       const MetricsHttpHandlers& handlers) {
  const std::string_view path = target.substr(0, target.find('?'));
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known) return Text(404, "not found\n");
  if (method != "GET" && method != "HEAD") {
    HttpReply reply = Text(405, "method not allowed\n");
    reply.allow_header = true;
    return reply;
  }
  try {
    if (path == "/healthz") return Text(200, "ok\n");
    if (path == "/readyz") {
      const bool ready = !handlers.ready || handlers.ready();
      return ready ? Text(200, "ready\n") : Text(503, "not ready\n");
    }
    if (!handlers.metrics_text) return Text(500, "no metrics handler\n");
    return {200, metrics::kTextFormatContentType, handlers.metrics_text(), false};
  } catch (const std::exception& e) {
    // A handler failure must not take the io thread (and with it the whole port) down.
    return Text(500, std::string("internal error: ") + e.what() + "\n");
  }
}

bool ParseListenAddress(std::string_view address, std::string* host, uint16_t* port) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = address.substr(0, colon);
  const std::string_view p = address.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs brackets
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535) return false;
  *host = h.empty() ? "0.0.0.0" : std::string(h);
  *port = static_cast<uint16_t>(value);
  return true;
}

class MetricsHttpSession;

struct MetricsHttpServer::Impl {
  MetricsHttpOptions options;
  MetricsHttpHandlers handlers;
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> bound_port{0};
  bool started = false;

  // Live sessions, so Stop can close them; guarded by mu, waited on with cv. Declared before
  // the io_context: destroying it destroys pending handlers, whose sessions then Forget().
  std::mutex mu;
  std::condition_variable cv;
  std::map<MetricsHttpSession*, std::weak_ptr<MetricsHttpSession>> sessions;
  bool accepting = false;

  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  Impl(MetricsHttpOptions o, MetricsHttpHandlers h)
      : options(std::move(o)), handlers(std::move(h)), ioc(std::max(1, options.threads)) {}

  void DoAccept();
  void Forget(MetricsHttpSession* s) {
    std::lock_guard lock(mu);
    sessions.erase(s);
    cv.notify_all();
  }
};

class MetricsHttpSession : public std::enable_shared_from_this<MetricsHttpSession> {
 public:
  MetricsHttpSession(tcp::socket socket, MetricsHttpServer::Impl* server)
      : stream_(std::move(socket)),
        // Room for a full header plus a full body; more than that is refused.
        buffer_(2 * server->options.max_request_bytes + 1024),
        server_(server) {}
  ~MetricsHttpSession() { server_->Forget(this); }

  void Start() {
    {
      std::lock_guard lock(server_->mu);
      server_->sessions[this] = weak_from_this();
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&MetricsHttpSession::DoRead, shared_from_this()));
  }

  // Called on Stop: an idle connection closes now, a busy one after its response.
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->writing_) self->Close();
    });
  }

 private:
  void DoRead() {
    if (server_->stopping) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_request_bytes));
    parser_->body_limit(server_->options.max_request_bytes);
    stream_.expires_after(server_->options.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&MetricsHttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
        ec == bhttp::error::buffer_overflow || ec == net::error::message_size) {
      return Respond(Text(413, "request too large\n"), "GET", 11, /*keep_alive=*/false);
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return Respond(Text(400, "bad request\n"), "GET", 11, /*keep_alive=*/false);
    }
    if (ec) return Close();  // peer closed, idle timeout, or Stop
    const auto& request = parser_->get();
    const std::string method(request.method_string());
    const std::string target(request.target());
    Respond(RouteRequest(method, target, server_->handlers), method, request.version(),
            request.keep_alive() && !server_->stopping);
  }

  void Respond(HttpReply reply, const std::string& method, unsigned version, bool keep_alive) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<bhttp::status>(reply.status));
    response_.set(bhttp::field::server, "graphopt");
    response_.set(bhttp::field::content_type, reply.content_type);
    response_.set(bhttp::field::cache_control, "no-store");
    if (reply.allow_header) response_.set(bhttp::field::allow, "GET, HEAD");
    response_.keep_alive(keep_alive);
    const size_t length = reply.body.size();
    if (method != "HEAD") response_.body() = std::move(reply.body);
    response_.content_length(length);
    writing_ = true;
    stream_.expires_after(server_->options.idle_timeout);
    bhttp::async_write(stream_, response_,
                       beast::bind_front_handler(&MetricsHttpSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec || server_->stopping) return Close();
    if (!response_.keep_alive()) return LingeringClose();
    DoRead();
  }

  // Closing a socket with unread request bytes (an oversized body) makes the kernel send a
  // reset, which can destroy the response before the client reads it. So: stop sending, read
  // and discard until the client closes (or 1 s passes), then close.
  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    Drain();
  }
  void Drain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->server_->stopping) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  MetricsHttpServer::Impl* server_;
  bool writing_ = false;
  std::array<char, 4096> drain_;
};

void MetricsHttpServer::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec || stopping) {
      std::lock_guard lock(mu);
      accepting = false;
      cv.notify_all();
      return;
    }
    std::make_shared<MetricsHttpSession>(std::move(socket), this)->Start();
    DoAccept();
  });
}

MetricsHttpServer::MetricsHttpServer(MetricsHttpOptions options, MetricsHttpHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

Status MetricsHttpServer::Start() {
  Impl& s = *impl_;
  if (s.started) return FailedPrecondition("metrics HTTP server already started");
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  const auto endpoints =
      resolver.resolve(s.options.host, std::to_string(s.options.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return {StatusCode::kUnavailable, "metrics listen address " + where + ": " + ec.message()};
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  s.acceptor.emplace(net::make_strand(s.ioc));
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return {StatusCode::kUnavailable, "cannot serve metrics on " + where + ": " + ec.message()};
  }
  s.bound_port = s.acceptor->local_endpoint().port();
  s.started = true;
  s.accepting = true;
  s.DoAccept();
  for (int i = 0; i < std::max(1, s.options.threads); ++i) {
    s.threads.emplace_back([&s] {
      // Handlers catch what they can; this keeps a surprise from terminating the process.
      for (;;) {
        try {
          s.ioc.run();
          return;
        } catch (...) {
        }
      }
    });
  }
  return Status::Ok();
}

uint16_t MetricsHttpServer::port() const { return impl_->bound_port; }

void MetricsHttpServer::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopping.exchange(true)) return;
  net::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<MetricsHttpSession>> live;
  {
    std::lock_guard lock(s.mu);
    for (auto& [raw, weak] : s.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->Shutdown();
  live.clear();
  {
    std::unique_lock lock(s.mu);
    s.cv.wait_for(lock, std::chrono::seconds(3),
                  [&s] { return s.sessions.empty() && !s.accepting; });
  }
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace graphopt::http
