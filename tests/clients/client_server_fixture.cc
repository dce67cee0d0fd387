// Starting graphopt-server for the client tests.
#include "clients/client_server_fixture.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {

std::string ServerBinary() {
#ifdef GRAPHOPT_SERVER_BIN
  return GRAPHOPT_SERVER_BIN;
#else
  return "";
#endif
}

std::unique_ptr<RunningServer> RunningServer::Start(const std::vector<std::string>& extra_args,
                                                    std::string* error) {
  // A free port found here can be taken by a concurrently running test before the server binds
  // it; such a start fails with listen_failed and is retried on fresh ports.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto server = std::unique_ptr<RunningServer>(new RunningServer());
    const std::string dir = TempDir();
    server->address_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    server->metrics_port_ = FreeLoopbackPort();
    server->log_path_ = dir + "/server.log";
    std::vector<std::string> argv = {ServerBinary(),
                                     "--listen",
                                     server->address_,
                                     "--metrics-listen",
                                     "127.0.0.1:" + std::to_string(server->metrics_port_),
                                     "--data-dir",
                                     dir + "/data"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    if (!server->process_.Start(argv, server->log_path_, error)) return nullptr;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool port_taken = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!server->process_.Running()) {
        port_taken = server->Log().find("listen_failed") != std::string::npos;
        *error = "graphopt-server exited at start:\n" + server->Log();
        break;
      }
      if (HttpRequest(server->metrics_port_, "GET", "/readyz").status == 200) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!port_taken) {
      if (error->empty()) *error = "graphopt-server not ready after 60 s:\n" + server->Log();
      return nullptr;
    }
  }
  return nullptr;
}

RunningServer::~RunningServer() { process_.Stop(30); }

std::string RunningServer::Log() const { return ReadFileOrEmpty(log_path_); }

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace graphopt::testing
