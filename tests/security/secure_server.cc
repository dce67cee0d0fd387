// Child process, certificates and credentials for the security tests.
#include "security/secure_server.h"

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "server/server_process.h"
#include "server/store/sha256.h"

namespace graphopt::testing {

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Sha256HexOf(const std::string& text) { return server::Sha256Hex(text); }

TestCertificates::TestCertificates(const std::string& dir) : dir_(dir) {
  const std::string d = "'" + dir + "'";
  const std::string quiet = " >>" + d + "/openssl.log 2>&1";
  // A CA, then a server certificate for 127.0.0.1 and localhost signed by it.
  if (Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=graphopt-test-ca "
            "-keyout " + d + "/ca.key -out " + d + "/ca.pem" + quiet) != 0 ||
      Shell("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d +
            "/server.key -out " + d + "/server.csr" + quiet) != 0 ||
      Shell("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " + d + "/server.ext") != 0 ||
      Shell("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
            "/ca.key -CAcreateserial -days 2 -extfile " + d + "/server.ext -out " + d +
            "/server.pem" + quiet) != 0) {
    error_ = "openssl failed (is it installed?); see " + dir + "/openssl.log";
  }
}

bool TestCertificates::MakeClient(const std::string& cn) {
  const std::string d = "'" + dir_ + "'";
  const std::string quiet = " >>" + d + "/openssl.log 2>&1";
  return Shell("openssl req -newkey rsa:2048 -nodes -subj /CN=" + cn + " -keyout " + d + "/" +
               cn + ".key -out " + d + "/" + cn + ".csr" + quiet) == 0 &&
         Shell("openssl x509 -req -in " + d + "/" + cn + ".csr -CA " + d + "/ca.pem -CAkey " + d +
               "/ca.key -CAcreateserial -days 2 -out " + d + "/" + cn + ".pem" + quiet) == 0;
}

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const TestCertificates& certs,
                                                         const std::string& client_cn) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileBytes(certs.ca());
  if (!client_cn.empty()) {
    options.pem_private_key = ReadFileBytes(certs.client_key(client_cn));
    options.pem_cert_chain = ReadFileBytes(certs.client_cert(client_cn));
  }
  return grpc::SslCredentials(options);
}

std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

std::unique_ptr<SecureServer> SecureServer::Start(
    const std::string& data_dir, const std::vector<std::string>& extra_args,
    std::shared_ptr<grpc::ChannelCredentials> channel_credentials) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto server = std::unique_ptr<SecureServer>(new SecureServer());
    server->address_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    server->log_path_ = data_dir + ".server.log";
    std::vector<std::string> args = {GRAPHOPT_SERVER_BINARY, "--listen", server->address_,
                                     "--metrics-listen", "off", "--data-dir", data_dir};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(server->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    server->pid_ = pid;
    auto channel = server->Channel(channel_credentials);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        server->pid_ = -1;
        exited = true;
        break;
      }
      if (HealthStatus(channel) == 1) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (exited && server->Log().find("listen_failed") != std::string::npos) continue;
    ADD_FAILURE() << "graphopt-server did not start:\n" << server->Log();
    return nullptr;
  }
  ADD_FAILURE() << "graphopt-server found no free port";
  return nullptr;
}

SecureServer::~SecureServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string SecureServer::Log() const { return ReadFileBytes(log_path_); }

void SecureServer::Signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::shared_ptr<grpc::Channel> SecureServer::Channel(
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  // A fresh connection per channel, so a test of one credential does not reuse another's.
  arguments.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address_, std::move(credentials), arguments);
}

}  // namespace graphopt::testing
