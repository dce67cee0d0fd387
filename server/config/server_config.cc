// Flag definitions and checks for graphopt-server (CLI11).
#include "server/config/server_config.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <sstream>
#include <thread>

#include "optimizer/util/finite_range.h"
#include "resource_labels.h"

namespace graphopt::server {

bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  std::string h = address.substr(0, colon);
  std::string p = address.substr(colon + 1);
  if (h.front() == '[') {
    if (h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  int value = std::stoi(p);
  if (value > 65535 || h.empty()) return false;
  *host = h;
  *port = value;
  return true;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string SecurityConfigError(const ServerConfig& c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return "--tls-cert and --tls-key go together: give both or neither";
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return "--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key";
  }
  std::string host;
  int port = 0;
  const bool authenticated = !c.auth_tokens.empty() || !c.tls_client_ca.empty();
  if (!authenticated && !c.allow_unauthenticated && SplitHostPort(c.listen, &host, &port) &&
      !IsLoopbackHost(host)) {
    return "refusing to listen on " + c.listen +
           " without authentication: anyone who reaches it could read, cancel and download "
           "every job. Give --auth-tokens FILE (bearer tokens) or --tls-client-ca PEM (client "
           "certificates), listen on a loopback address, or pass --allow-unauthenticated if "
           "something in front of the server authenticates callers";
  }
  return "";
}

ConfigParseResult ParseServerConfig(const std::vector<std::string>& args) {
  ServerConfig c;
  std::string log_format = "text";
  CLI::App app{"graphopt-server: optimizes ONNX models for clients over gRPC"};
  app.set_version_flag("--version", std::string("graphopt-server ") + GRAPHOPT_SERVER_VERSION);
  auto address = CLI::Validator(
      [](std::string& value) {
        std::string host;
        int port = 0;
        return SplitHostPort(value, &host, &port) ? std::string()
                                                  : "expected HOST:PORT, got '" + value + "'";
      },
      "HOST:PORT");
  app.add_option("--listen", c.listen, "gRPC address")
      ->envname("GRAPHOPT_LISTEN")
      ->check(address)
      ->capture_default_str();
  app.add_option("--metrics-listen", c.metrics_listen,
                 "HTTP address of /metrics, /healthz, /readyz ('off' disables)")
      ->envname("GRAPHOPT_METRICS_LISTEN")
      ->check(address | CLI::IsMember({"off"}))
      ->capture_default_str();
  app.add_option("--data-dir", c.data_dir, "where jobs, models and artifacts are stored")
      ->envname("GRAPHOPT_DATA_DIR")
      ->capture_default_str();
  app.add_option("--workers", c.workers, "jobs optimized at once (0: one per CPU core)")
      ->envname("GRAPHOPT_WORKERS")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_option("--queue-size", c.queue_size, "jobs that may wait; more are refused")
      ->envname("GRAPHOPT_QUEUE_SIZE")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-upload-bytes", c.max_upload_bytes,
                 "largest file UploadModel accepts (suffixes: KB, MB, GB = 1024-based)")
      ->envname("GRAPHOPT_MAX_UPLOAD_BYTES")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--job-timeout", c.job_timeout_seconds, "seconds a job may run (0: no limit)")
      ->envname("GRAPHOPT_JOB_TIMEOUT")
      ->check(FiniteRange(0, 1e7))
      ->capture_default_str();
  app.add_option("--isolation", c.isolation,
                 "where jobs run: 'process' (a worker process per job, killed at --job-timeout, "
                 "on cancel or past --job-max-memory; a crash fails that job alone) or 'thread' "
                 "(in the server: tests and benchmarks)")
      ->envname("GRAPHOPT_ISOLATION")
      ->check(CLI::IsMember({"process", "thread"}))
      ->capture_default_str();
  app.add_option("--job-max-memory", c.job_max_memory,
                 "address space one job's worker may use (suffixes KB, MB, GB = 1024-based; 0: "
                 "3/4 of the container's memory.max, or of RAM, divided by --workers)")
      ->envname("GRAPHOPT_JOB_MAX_MEMORY")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
      ->capture_default_str();
  app.add_option("--max-attempts", c.max_attempts,
                 "times a job may start running (it is re-run after a server stop, a lost lease "
                 "or a crash) before it is failed instead of re-queued")
      ->envname("GRAPHOPT_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error|off")
      ->envname("GRAPHOPT_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text|json")
      ->envname("GRAPHOPT_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--grace-period", c.grace_period_seconds,
                 "seconds running jobs get to finish on SIGTERM/SIGINT before being re-queued")
      ->envname("GRAPHOPT_GRACE_PERIOD")
      ->check(FiniteRange(0, 86400))
      ->capture_default_str();
  app.add_option("--drain-delay", c.drain_delay_seconds,
                 "seconds after SIGTERM during which readiness is NOT_SERVING but calls are still "
                 "accepted (for load balancers to stop routing here), before jobs drain")
      ->envname("GRAPHOPT_DRAIN_DELAY")
      ->check(FiniteRange(0, 3600))
      ->capture_default_str();
  app.add_option("--max-concurrent-streams", c.max_concurrent_streams,
                 "concurrent RPCs per client connection")
      ->envname("GRAPHOPT_MAX_CONCURRENT_STREAMS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--store", c.store,
                 "job/model/event store: sqlite:PATH (default sqlite:<data-dir>/graphopt.db) or "
                 "a PostgreSQL URI postgres://USER:PASSWORD@HOST:PORT/DB shared by replicas")
      ->envname("GRAPHOPT_STORE");
  app.add_option("--blob-store", c.blob_store,
                 "where models, artifacts and reports live: file (<data-dir>/blobs), file:DIR "
                 "(e.g. a shared volume) or postgres (needs a PostgreSQL --store)")
      ->envname("GRAPHOPT_BLOB_STORE")
      ->capture_default_str();
  app.add_option("--lease-seconds", c.lease_seconds,
                 "PostgreSQL store: a claimed job's lease; a dead replica's jobs are re-queued "
                 "this long after its last renewal")
      ->envname("GRAPHOPT_LEASE_SECONDS")
      ->check(CLI::Range(0.3, 3600.0))
      ->capture_default_str();
  app.add_option("--replica-id", c.replica_id,
                 "this replica's name in leases and logs (default <hostname>-<pid>; Kubernetes: "
                 "the pod name)")
      ->envname("GRAPHOPT_REPLICA_ID");
  app.add_option("--store-connections", c.store_connections,
                 "PostgreSQL store: pooled connections per replica (plus one listener)")
      ->envname("GRAPHOPT_STORE_CONNECTIONS")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--auth-tokens", c.auth_tokens,
                 "bearer tokens: a file of 'TENANT SHA256-HEX-OF-TOKEN' lines; callers send "
                 "'authorization: Bearer TOKEN'; re-read on SIGHUP and when it changes")
      ->envname("GRAPHOPT_AUTH_TOKENS");
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate chain: serve gRPC over TLS")
      ->envname("GRAPHOPT_TLS_CERT");
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert")
      ->envname("GRAPHOPT_TLS_KEY");
  app.add_option("--tls-client-ca", c.tls_client_ca,
                 "PEM CA bundle: mutual TLS; a client certificate's subject CN names its tenant")
      ->envname("GRAPHOPT_TLS_CLIENT_CA");
  app.add_flag("--allow-unauthenticated", c.allow_unauthenticated,
               "listen beyond loopback without --auth-tokens or --tls-client-ca (only behind "
               "something else that authenticates)")
      ->envname("GRAPHOPT_ALLOW_UNAUTHENTICATED");
  app.add_option("--tenant-max-queued-jobs", c.tenant_max_queued_jobs,
                 "queued plus running jobs one tenant may have (0: no limit)")
      ->envname("GRAPHOPT_TENANT_MAX_QUEUED_JOBS")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--tenant-max-storage-bytes", c.tenant_max_storage_bytes,
                 "bytes of uploads and artifacts one tenant may hold (suffixes KB, MB, GB; 0: no "
                 "limit)")
      ->envname("GRAPHOPT_TENANT_MAX_STORAGE_BYTES")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50))
      ->capture_default_str();
  auto duration = CLI::Validator(
      [](std::string& value) {
        const int64_t ms = ParseDurationMillis(value);
        if (ms < 0) return "expected a duration such as 7d, 12h, 30m, 45s or 500ms, got '" + value + "'";
        value = std::to_string(ms);
        return std::string();
      },
      "DURATION");
  app.add_option("--retention", c.retention_ms,
                 "finished jobs (and their events) older than this are deleted, then their "
                 "artifacts collected: 7d, 12h, 30m (0: kept)")
      ->envname("GRAPHOPT_RETENTION")
      ->transform(duration);
  app.add_option("--max-storage", c.max_storage_bytes,
                 "blob store limit: beyond it the oldest finished jobs, then uploads no "
                 "unfinished job uses, are deleted (suffixes KiB, MiB, GiB; 0: no limit)")
      ->envname("GRAPHOPT_MAX_STORAGE")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 56));
  app.add_option("--gc-interval", c.gc_interval_ms,
                 "how often retention, the storage limit and garbage collection run (0: only "
                 "after deletes)")
      ->envname("GRAPHOPT_GC_INTERVAL")
      ->transform(duration);
  app.add_option("--gc-grace", c.gc_grace_ms,
                 "a blob committed or referenced this recently is never collected (covers the "
                 "moment between storing bytes and recording who uses them)")
      ->envname("GRAPHOPT_GC_GRACE")
      ->transform(duration);
  app.add_option("--tls-refresh-seconds", c.tls_refresh_seconds)
      ->envname("GRAPHOPT_TLS_REFRESH_SECONDS")
      ->check(CLI::Range(1, 86400))
      ->group("");
  // Hidden (empty group): slows every pass down so tests can act while a job runs.
  app.add_option("--debug-pass-delay-ms", c.debug_pass_delay_ms)
      ->envname("GRAPHOPT_DEBUG_PASS_DELAY_MS")
      ->group("");

  // Hidden: a worker kernel that aborts, for the isolation tests; no upload can reach it without.
  app.add_flag("--debug-abort-op", c.debug_abort_op)->group("");

  ConfigParseResult result;
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    result.exit_code = app.exit(e, out, err);
    result.output = out.str() + err.str();
    return result;
  }
  c.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;

  if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
  result.config = c;
  return result;
}

}  // namespace graphopt::server
