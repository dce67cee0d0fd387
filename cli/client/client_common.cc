// Shared pieces of the client subcommands.
#include "cli/client/client_common.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc_code_name.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <grpcpp/support/client_interceptor.h>

#include "cli/command.h"

namespace graphopt::cli {

std::string DefaultServerAddress() {
  const char* env = std::getenv("GRAPHOPT_SERVER");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:50051";
}

namespace {

// One subcommand runs per process: its connection options live here.
ConnectionOptions& Connection() {
  static ConnectionOptions options;
  return options;
}

// Adds the bearer token to every call's metadata (on TLS and plaintext channels alike).
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  std::string header_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(header_);
  }

 private:
  std::string header_;
};

std::string ReadPem(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN") == std::string::npos) {
    std::cerr << "graphopt: " << flag << " " << path << " is not a readable PEM file\n";
    std::exit(kExitError);
  }
  return text.str();
}

}  // namespace

void AddServerOption(CLI::App* cmd, std::string* server) {
  *server = DefaultServerAddress();
  cmd->add_option("--server", *server,
                  "HOST:PORT of graphopt-server (default $GRAPHOPT_SERVER or 127.0.0.1:50051)");
  ConnectionOptions& c = Connection();
  const char* token = std::getenv("GRAPHOPT_TOKEN");
  if (token != nullptr) c.token = token;
  cmd->add_option("--tls-ca", c.tls_ca, "PEM CA of the server's certificate: connect with TLS");
  cmd->add_option("--tls-cert", c.tls_cert, "PEM client certificate (mutual TLS)");
  cmd->add_option("--tls-key", c.tls_key, "PEM key of --tls-cert");
  cmd->add_option("--token", c.token,
                  "bearer token for a server with --auth-tokens (default $GRAPHOPT_TOKEN; the "
                  "variable keeps it out of the process list)");
}

std::unique_ptr<api::OptimizerService::Stub> MakeStub(const std::string& server) {
  const ConnectionOptions& c = Connection();
  grpc::ChannelArguments args;
  // Artifacts and chunks are streamed, but a Job with a large report summary must still fit.
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!c.tls_ca.empty() || !c.tls_cert.empty()) {
    if (c.tls_cert.empty() != c.tls_key.empty()) {
      std::cerr << "graphopt: --tls-cert and --tls-key go together\n";
      std::exit(kExitError);
    }
    grpc::SslCredentialsOptions tls;
    if (!c.tls_ca.empty()) tls.pem_root_certs = ReadPem(c.tls_ca, "--tls-ca");
    if (!c.tls_cert.empty()) {
      tls.pem_cert_chain = ReadPem(c.tls_cert, "--tls-cert");
      tls.pem_private_key = ReadPem(c.tls_key, "--tls-key");
    }
    credentials = grpc::SslCredentials(tls);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!c.token.empty()) interceptors.push_back(std::make_unique<TokenInterceptorFactory>(c.token));
  return api::OptimizerService::NewStub(grpc::experimental::CreateCustomChannelWithInterceptors(
      server, credentials, args, std::move(interceptors)));
}

void SetUnaryDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

std::string DescribeErrorDetails(const std::string& encoded) {
  google::rpc::Status status;
  if (encoded.empty() || !status.ParseFromString(encoded)) return "";
  std::vector<std::string> parts;
  for (const auto& any : status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      parts.insert(parts.begin(), info.reason());
    } else if (any.UnpackTo(&bad_request)) {
      for (const auto& violation : bad_request.field_violations()) {
        if (!violation.field().empty()) parts.push_back("field " + violation.field());
      }
    } else if (any.UnpackTo(&retry)) {
      const double seconds =
          retry.retry_delay().seconds() + retry.retry_delay().nanos() / 1e9;
      std::ostringstream text;
      text << "retry after " << seconds << "s";
      parts.push_back(text.str());
    }
  }
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out.empty() ? "" : "[" + out + "]";
}

int ReportRpcError(const grpc::Status& status, const std::string& server) {
  std::string message = status.error_message();
  for (char& c : message) {
    if (c == '\n') c = ' ';  // one line, whatever the server said
  }
  std::cerr << "graphopt: " << GrpcCodeName(status.error_code()) << ": " << message;
  if (const std::string details = DescribeErrorDetails(status.error_details());
      !details.empty()) {
    std::cerr << " " << details;
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << " (is graphopt-server running at " << server << "? set --server or "
              << "$GRAPHOPT_SERVER; a TLS server needs --tls-ca)";
  }
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    std::cerr << " (give --token or $GRAPHOPT_TOKEN, or a client certificate)";
  }
  std::cerr << "\n";
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ? kExitUnreachable : kExitError;
}

std::optional<api::Level> LevelFromName(const std::string& name) {
  if (name == "disabled") return api::LEVEL_DISABLED;
  if (name == "basic") return api::LEVEL_BASIC;
  if (name == "extended") return api::LEVEL_EXTENDED;
  if (name == "layout") return api::LEVEL_LAYOUT;
  if (name == "all") return api::LEVEL_ALL;
  return std::nullopt;
}

std::string LevelName(api::Level level) {
  switch (level) {
    case api::LEVEL_DISABLED:
      return "disabled";
    case api::LEVEL_EXTENDED:
      return "extended";
    case api::LEVEL_LAYOUT:
      return "layout";
    case api::LEVEL_ALL:
      return "all";
    default:
      return "basic";  // LEVEL_UNSPECIFIED means basic
  }
}

std::optional<api::JobState> JobStateFromName(const std::string& name) {
  if (name == "queued") return api::JOB_STATE_QUEUED;
  if (name == "running") return api::JOB_STATE_RUNNING;
  if (name == "succeeded") return api::JOB_STATE_SUCCEEDED;
  if (name == "failed") return api::JOB_STATE_FAILED;
  if (name == "cancelled") return api::JOB_STATE_CANCELLED;
  return std::nullopt;
}

std::string JobStateName(api::JobState state) {
  switch (state) {
    case api::JOB_STATE_QUEUED:
      return "queued";
    case api::JOB_STATE_RUNNING:
      return "running";
    case api::JOB_STATE_SUCCEEDED:
      return "succeeded";
    case api::JOB_STATE_FAILED:
      return "failed";
    case api::JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

bool IsTerminal(api::JobState state) {
  return state == api::JOB_STATE_SUCCEEDED || state == api::JOB_STATE_FAILED ||
         state == api::JOB_STATE_CANCELLED;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(t.seconds());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &utc);
  return buf;
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", bytes, units[unit]);
  }
  return buf;
}

void PrintDeleted(const std::string& id, int64_t reclaimed_bytes) {
  std::printf("deleted %s (%s reclaimed)\n", id.c_str(),
              FormatBytes(static_cast<double>(reclaimed_bytes)).c_str());
}

std::string PassProgressText(const api::JobProgress& p) {
  if (p.pass_count() <= 0) return "";
  const int shown = std::min(p.pass_index() + 1, p.pass_count());
  const std::string round = p.round() > 0 ? "round " + std::to_string(p.round()) + ", " : "";
  return round + "pass " + std::to_string(shown) + "/" + std::to_string(p.pass_count()) + " " +
         p.pass_name();
}

double PassFraction(const api::JobProgress& p) {
  if (p.pass_count() <= 0) return -1;
  return static_cast<double>(std::min(p.pass_index() + 1, p.pass_count())) / p.pass_count();
}

int ExitCodeForJob(const api::Job& job) {
  if (job.state() == api::JOB_STATE_SUCCEEDED) return kExitOk;
  // A model or options the server found invalid is the caller's input error, as in optimize.
  if (job.state() == api::JOB_STATE_FAILED && job.error().code() == "INVALID_ARGUMENT") {
    return kExitError;
  }
  return kExitMismatch;  // verification failed, the job failed otherwise, or it was cancelled
}

std::string DescribeOutcome(const api::Job& job) {
  std::string line = "job " + job.id() + " " + JobStateName(job.state());
  if (job.state() == api::JOB_STATE_SUCCEEDED) {
    const auto& r = job.report();
    line += ": " + std::to_string(r.nodes_before()) + " -> " + std::to_string(r.nodes_after()) +
            " nodes, " + FormatBytes(static_cast<double>(r.bytes_before())) + " -> " +
            FormatBytes(static_cast<double>(r.bytes_after())) + ", verification " +
            (r.verification_status().empty() ? "unknown" : r.verification_status());
    if (!job.cached_from_job_id().empty())
      line += " (cached from " + job.cached_from_job_id() + ")";
  } else if (job.has_error() && !job.error().code().empty()) {
    line += ": " + job.error().code() + ": " + job.error().message();
  }
  return line;
}

}  // namespace graphopt::cli
