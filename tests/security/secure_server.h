// A graphopt-server child process reached over TLS (and optionally with client certificates),
// test certificates made with openssl, and call contexts that carry a bearer token.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "graphopt/v1/optimizer.grpc.pb.h"

namespace graphopt::testing {

// A CA, a server certificate for 127.0.0.1/localhost and client certificates, as PEM files in
// `dir`; ok() is false when openssl failed (the reason is in error()).
class TestCertificates {
 public:
  explicit TestCertificates(const std::string& dir);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string server_cert() const { return dir_ + "/server.pem"; }
  std::string server_key() const { return dir_ + "/server.key"; }
  // A client certificate whose subject CN is `common_name`, signed by the CA; returns false
  // when openssl failed. Files: <dir>/<name>.pem and .key.
  bool MakeClient(const std::string& common_name);
  std::string client_cert(const std::string& cn) const { return dir_ + "/" + cn + ".pem"; }
  std::string client_key(const std::string& cn) const { return dir_ + "/" + cn + ".key"; }

 private:
  std::string dir_;
  std::string error_;
};

// Runs `command` with /bin/sh; its exit status.
int Shell(const std::string& command);
std::string Sha256HexOf(const std::string& text);

class SecureServer {
 public:
  // Starts graphopt-server on a free loopback port with `args` (plus --listen, --data-dir,
  // --metrics-listen) and waits until the health check, asked over `channel_credentials`,
  // answers SERVING.
  static std::unique_ptr<SecureServer> Start(
      const std::string& data_dir, const std::vector<std::string>& args,
      std::shared_ptr<grpc::ChannelCredentials> channel_credentials);
  ~SecureServer();

  const std::string& address() const { return address_; }
  std::string Log() const;
  void Signal(int signal);
  // A new channel to this server with `credentials`.
  std::shared_ptr<grpc::Channel> Channel(std::shared_ptr<grpc::ChannelCredentials> credentials);

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::string log_path_;
};

std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const TestCertificates& certs,
                                                         const std::string& client_cn = "");
// A client context with `authorization: Bearer <token>` (none when token is empty).
std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token);

}  // namespace graphopt::testing
