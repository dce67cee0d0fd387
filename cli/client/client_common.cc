// Shared pieces of the client subcommands.
#include "cli/client/client_common.h"

#include "grpc_code_name.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cli/command.h"

namespace graphopt::cli {

std::string DefaultServerAddress() {
  const char* env = std::getenv("GRAPHOPT_SERVER");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:50051";
}

void AddServerOption(CLI::App* cmd, std::string* server) {
  *server = DefaultServerAddress();
  cmd->add_option("--server", *server,
                  "HOST:PORT of graphopt-server (default $GRAPHOPT_SERVER or 127.0.0.1:50051)");
}

std::unique_ptr<api::OptimizerService::Stub> MakeStub(const std::string& server) {
  grpc::ChannelArguments args;
  // Artifacts and chunks are streamed, but a Job with a large report summary must still fit.
  args.SetMaxReceiveMessageSize(64 << 20);
  return api::OptimizerService::NewStub(
      grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
}

void SetUnaryDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

int ReportRpcError(const grpc::Status& status, const std::string& server) {
  std::string message = status.error_message();
  for (char& c : message) {
    if (c == '\n') c = ' ';  // one line, whatever the server said
  }
  std::cerr << "graphopt: " << GrpcCodeName(status.error_code()) << ": " << message;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << " (is graphopt-server running at " << server << "? set --server or "
              << "$GRAPHOPT_SERVER)";
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

std::string PassProgressText(const api::JobProgress& p) {
  if (p.pass_count() <= 0) return "";
  const int shown = std::min(p.pass_index() + 1, p.pass_count());
  return "pass " + std::to_string(shown) + "/" + std::to_string(p.pass_count()) + " " +
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
