// graphopt-server's configuration: command-line flags, each with a GRAPHOPT_* environment
// variable equivalent (a flag given on the command line wins over the environment).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/config/logging.h"

namespace graphopt::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9090";  // "off" disables the HTTP endpoint
  std::string data_dir = "./graphopt-data";
  int workers = 0;  // 0: one per CPU core
  int queue_size = 256;
  int64_t max_upload_bytes = int64_t{2} << 30;
  double job_timeout_seconds = 600;  // 0: no limit
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kText;
  double grace_period_seconds = 30;
  // Seconds between SIGTERM and closing the listener: readiness says NOT_SERVING at once, while
  // calls are still served, so load balancers stop routing here before anything is refused.
  double drain_delay_seconds = 0;
  int max_concurrent_streams = 100;  // per client connection
  std::string store;                 // "" = sqlite:<data_dir>/graphopt.db; or postgres://...
  std::string blob_store = "file";   // file | file:DIR | postgres
  double lease_seconds = 30;         // PostgreSQL store: job lease, renewed every third of it
  std::string replica_id;            // "" = <hostname>-<pid>
  int store_connections = 8;         // PostgreSQL connections per replica
  int debug_pass_delay_ms = 0;       // hidden; tests only
  // Robustness (docs/DEPLOY.md "Job isolation and limits").
  std::string isolation = "process";  // process: a worker process per job | thread
  int64_t job_max_memory = 0;         // a worker's address-space limit; 0: sized to the machine
  int max_attempts = 3;               // runs a job may start before it is failed, not re-queued
  bool debug_abort_op = false;        // hidden; tests only: workers register graphopt.test::Abort
  // Security (docs/DEPLOY.md "Security").
  std::string auth_tokens;            // file of "TENANT SHA256-HEX-OF-TOKEN" lines
  std::string tls_cert;               // PEM; with tls_key, gRPC speaks TLS only
  std::string tls_key;
  std::string tls_client_ca;          // PEM CA bundle: mutual TLS, the certificate's CN = tenant
  bool allow_unauthenticated = false; // permit a non-loopback listener without authentication
  int64_t tenant_max_queued_jobs = 0;     // 0: no limit
  int64_t tenant_max_storage_bytes = 0;   // 0: no limit
  int tls_refresh_seconds = 5;        // hidden: how often certificate files are checked
  // Storage collection (docs/DEPLOY.md "Retention and garbage collection"); milliseconds.
  int64_t retention_ms = 0;           // finished jobs older than this are deleted; 0: kept
  int64_t max_storage_bytes = 0;      // blob store limit; 0: none
  int64_t gc_interval_ms = 5 * 60 * 1000;
  int64_t gc_grace_ms = 60 * 1000;    // blobs touched this recently are never collected
};


// True for a listen host only this machine can reach (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

// Why `config` must not start (a non-loopback listener without authentication, TLS half
// configured); "" when it may.
std::string SecurityConfigError(const ServerConfig& config);

struct ConfigParseResult {
  std::optional<ServerConfig> config;  // empty: exit with `exit_code` after printing `output`
  int exit_code = 0;
  std::string output;
};

// `args` excludes the program name. Reads GRAPHOPT_* variables from the environment.
ConfigParseResult ParseServerConfig(const std::vector<std::string>& args);

// Splits "HOST:PORT" ("[::1]:50051" for IPv6); false when malformed.
bool SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace graphopt::server
