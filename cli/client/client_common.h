// What every client subcommand shares: the --server option, the channel and stub, one-line
// error reporting for gRPC failures, and names for the API's enums.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "graphopt/v1/optimizer.grpc.pb.h"

namespace CLI {
class App;
}

namespace graphopt::cli {

namespace api = ::graphopt::v1;

// "HOST:PORT" from --server, else $GRAPHOPT_SERVER, else 127.0.0.1:50051.
std::string DefaultServerAddress();
// How a client reaches the server: TLS (the server's CA; a client certificate for mutual TLS) and
// a bearer token. Empty fields: plaintext, no certificate, no token.
struct ConnectionOptions {
  std::string tls_ca;    // PEM file of the CA that signed the server's certificate
  std::string tls_cert;  // PEM client certificate (mutual TLS) ...
  std::string tls_key;   // ... and its key
  std::string token;     // sent as "authorization: Bearer TOKEN" (default $GRAPHOPT_TOKEN)
};

// Adds --server (defaulting to DefaultServerAddress()) and the connection options --tls-ca,
// --tls-cert, --tls-key and --token to a subcommand; MakeStub uses what was given.
void AddServerOption(CLI::App* cmd, std::string* server);

// A stub on a channel to `server`: TLS when --tls-ca or --tls-cert was given, plaintext
// otherwise; every call carries the token when there is one. Exits with a message when a PEM
// file cannot be read.
std::unique_ptr<api::OptimizerService::Stub> MakeStub(const std::string& server);

// Unary calls get this deadline; streams (upload, watch, download) get none.
void SetUnaryDeadline(grpc::ClientContext* context);

// One unary call on its own context with the unary deadline:
// CallUnary(*stub, &api::OptimizerService::Stub::GetJob, request, &job).
template <typename Request, typename Response>
grpc::Status CallUnary(api::OptimizerService::Stub& stub,
                       grpc::Status (api::OptimizerService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*),
                       const Request& request, Response* response) {
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  return (stub.*method)(&context, request, response);
}

// "deleted ID (1.5 KiB reclaimed)" on stdout, after DeleteJob/DeleteModel.
void PrintDeleted(const std::string& id, int64_t reclaimed_bytes);

// The google.rpc details of an error (grpc-status-details-bin) in one bracket: "[QUEUE_FULL,
// retry after 5s]", "[INVALID_MODEL, field chunk]"; "" when the status carries none.
std::string DescribeErrorDetails(const std::string& encoded_status);

// Prints "graphopt: CODE: message [details]" (plus a hint for UNAVAILABLE) on stderr; returns
// kExitUnreachable for UNAVAILABLE, kExitError otherwise.
int ReportRpcError(const grpc::Status& status, const std::string& server);

// "basic" -> LEVEL_BASIC; nullopt for an unknown name.
std::optional<api::Level> LevelFromName(const std::string& name);
std::string LevelName(api::Level level);                                 // "basic"
std::optional<api::JobState> JobStateFromName(const std::string& name);  // "running"
std::string JobStateName(api::JobState state);                           // "running"
bool IsTerminal(api::JobState state);

// Seconds-precision UTC time ("2024-05-01 12:00:03Z"), "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& t);
// 1536 -> "1.5 KiB".
std::string FormatBytes(double bytes);

// "pass 3/8 fold_constants" (pass_index counts from 0 and names the pass about to run; shown
// 1-based). "" when the job reports no pass.
std::string PassProgressText(const api::JobProgress& progress);
// Fraction of passes started, or -1 when unknown.
double PassFraction(const api::JobProgress& progress);

// The exit code a finished job maps to: 0 succeeded, 1 verification mismatch, 2 otherwise.
int ExitCodeForJob(const api::Job& job);
// One line for a finished job on stderr ("job X succeeded: 120 -> 95 nodes, verified").
std::string DescribeOutcome(const api::Job& job);

}  // namespace graphopt::cli
