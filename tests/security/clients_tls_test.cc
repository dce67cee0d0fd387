// The client tools against a server with TLS and bearer tokens: the CLI's --tls-ca, --token and
// $GRAPHOPT_TOKEN, its client certificate for mutual TLS, and the Python client's same options.
#include <gtest/gtest.h>

#include <filesystem>

#include "security/secure_server.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

// Debian's python3-grpcio lives in /usr/bin/python3's dist-packages.
const std::string kPython = "/usr/bin/python3";

std::string Quote(const std::string& s) { return "'" + s + "'"; }

class ClientsOverTlsTest : public ServerE2eTest {
 protected:
  void SetUp() override {
    ServerE2eTest::SetUp();
    std::filesystem::create_directories(root_ + "/certs");
    certs_ = std::make_unique<TestCertificates>(root_ + "/certs");
    ASSERT_TRUE(certs_->ok()) << certs_->error();
    ASSERT_TRUE(certs_->MakeClient("tenant-m"));
    WriteFileBytes(root_ + "/tokens", "tenant-t " + Sha256HexOf("cli-token") + "\n");
    server_ = SecureServer::Start(
        DataDir(),
        {"--tls-cert", certs_->server_cert(), "--tls-key", certs_->server_key(), "--tls-client-ca",
         certs_->ca(), "--auth-tokens", root_ + "/tokens", "--workers", "1"},
        TlsCredentials(*certs_));
    ASSERT_NE(server_, nullptr);
  }

  // Runs the CLI with `args`; its exit code, its stderr in *err.
  int Cli(const std::string& args, std::string* err, const std::string& env = "") {
    const int rc = Shell(env + Quote(GRAPHOPT_CLI) + " " + args + " >" + Quote(root_ + "/out") +
                         " 2>" + Quote(root_ + "/err"));
    *err = ReadFileBytes(root_ + "/err");
    return rc;
  }

  std::unique_ptr<TestCertificates> certs_;
  std::unique_ptr<SecureServer> server_;
};

TEST_F(ClientsOverTlsTest, CliSendsTheTokenOverTls) {
  const std::string server = " --server " + server_->address();
  const std::string ca = " --tls-ca " + Quote(certs_->ca());
  std::string err;
  EXPECT_EQ(Cli("jobs" + server + ca + " --token cli-token", &err), 0) << err;
  EXPECT_EQ(Cli("jobs" + server + ca, &err, "GRAPHOPT_TOKEN=cli-token "), 0) << err;
  EXPECT_NE(Cli("jobs" + server + ca + " --token wrong", &err), 0);
  EXPECT_NE(err.find("UNAUTHENTICATED"), std::string::npos) << err;
  EXPECT_NE(Cli("jobs" + server + " --token cli-token", &err), 0);  // plaintext: refused
  // A client certificate names tenant-m: submit works end to end.
  const std::string model = WriteTinyModel("m.onnx", 7);
  EXPECT_EQ(Cli("submit " + Quote(model) + server + ca + " --tls-cert " +
                    Quote(certs_->client_cert("tenant-m")) + " --tls-key " +
                    Quote(certs_->client_key("tenant-m")) + " -o " + Quote(root_ + "/m.opt.onnx"),
                &err),
            0)
      << err << server_->Log();
  EXPECT_TRUE(std::filesystem::exists(root_ + "/m.opt.onnx"));
  EXPECT_NE(server_->Log().find("tenant-m"), std::string::npos);
}

TEST_F(ClientsOverTlsTest, PythonClientTakesTheSameOptions) {
  if (Shell(kPython + " -c 'import grpc, google.protobuf' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-grpcio / python3-protobuf not installed";
  }
  const std::string script = root_ + "/check.py";
  WriteFileBytes(script, R"py(
import sys
sys.path.insert(0, sys.argv[1])
from graphopt_client.client import Client, GraphoptError
target, ca, model, out = sys.argv[2:6]
with Client(target, tls_ca=ca, token="cli-token") as c:
    job = c.optimize(model, out)
    assert any(j.id == job.id for j in c.list_jobs()), "own job not listed"
with Client(target, tls_ca=ca, token="wrong") as c:
    try:
        list(c.list_jobs())
        raise SystemExit("a wrong token was accepted")
    except GraphoptError as e:
        assert e.code == "UNAUTHENTICATED", e.code
print("python ok")
)py");
  const std::string model = WriteTinyModel("p.onnx", 8);
  const int rc = Shell("XDG_CACHE_HOME=" + Quote(root_) + " " + kPython + " " + Quote(script) +
                       " " GRAPHOPT_PYTHON_CLIENT_DIR " " + server_->address() + " " +
                       Quote(certs_->ca()) + " " + Quote(model) + " " +
                       Quote(root_ + "/p.opt.onnx") + " >" + Quote(root_ + "/py.log") + " 2>&1");
  EXPECT_EQ(rc, 0) << ReadFileBytes(root_ + "/py.log") << server_->Log();
}

}  // namespace
}  // namespace graphopt::testing
