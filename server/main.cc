// graphopt-server: opens the stores (--store, --blob-store), recovers unfinished jobs or joins the
// replicas sharing a PostgreSQL store, serves gRPC (and /metrics over HTTP), and shuts down
// gracefully on SIGTERM/SIGINT.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <functional>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "optimizer/target.h"
#include "optimizer/util/memory_limit.h"
#include "server/config/logging.h"
#include "server/config/server_config.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/storage_collector.h"
#include "server/jobs/pipeline_job_runner.h"
#include "server/service/authenticator.h"
#include "server/service/grpc_server.h"
#include "server/store/store_selection.h"
#include "server/worker/job_worker.h"
#include "server/worker/process_job_runner.h"
#ifdef GRAPHOPT_HAVE_METRICS
#include "server/http/metrics_http_server.h"
#include "server/metrics/metrics.h"
#include "server/service/metrics_observer.h"
#endif

namespace graphopt::server {
namespace {

int Fail(const std::string& event, const Status& status) {
  LogEvent(spdlog::level::critical, event, {{"error", status.ToString()}});
  return 1;
}

// The PEM files TLS needs must be readable now: gRPC would only fail each handshake later.
Status CheckReadable(const std::string& path, const char* flag) {
  if (path.empty()) return Status::Ok();
  std::ifstream in(path);
  std::string first;
  if (!in || !std::getline(in, first)) return InvalidArgument(std::string(flag) + " " + path +
                                                              " cannot be read");
  if (first.find("-----BEGIN") == std::string::npos) {
    return InvalidArgument(std::string(flag) + " " + path + " is not a PEM file");
  }
  return Status::Ok();
}

// Writes, syncs and removes a small file in `dir`: fails on a full or read-only file system.
Status ProbeWritableDirectory(const std::string& dir) {
  const std::string path = dir + "/.write-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(StatusCode::kUnavailable, dir + " is not writable: " + std::strerror(errno));
  }
  const std::string block(4096, '\0');
  const bool written = ::write(fd, block.data(), block.size()) ==
                           static_cast<ssize_t>(block.size()) &&
                       ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!written) {
    return Status(StatusCode::kUnavailable, dir + " is not writable: " + std::strerror(error));
  }
  return Status::Ok();
}

// Keeps readiness (/readyz, gRPC health) equal to "serving and the store takes writes".
class ReadinessWatch {
 public:
  ReadinessWatch(std::function<void(bool)> set_ready, std::function<bool()> store_writable)
      : set_ready_(std::move(set_ready)), store_writable_(std::move(store_writable)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ReadinessWatch() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    bool ready = false;
    bool first = true;
    while (!stop_) {
      const bool now = store_writable_();
      if (first || now != ready) {
        ready = now;
        first = false;
        set_ready_(ready);
        LogEvent(ready ? spdlog::level::info : spdlog::level::warn, "readiness",
                 {{"ready", ready}, {"reason", ready ? "store writable" : "store unwritable"}});
      }
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }

  std::function<void(bool)> set_ready_;
  std::function<bool()> store_writable_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

int Run(const ServerConfig& config, sigset_t signals) {
  namespace fs = std::filesystem;
  for (const auto& [path, flag] : {std::pair{config.tls_cert, "--tls-cert"},
                                   std::pair{config.tls_key, "--tls-key"},
                                   std::pair{config.tls_client_ca, "--tls-client-ca"}}) {
    Status readable = CheckReadable(path, flag);
    if (!readable.ok()) return Fail("tls_files_unusable", readable);
  }
  auto auth = Authenticator::Create({config.auth_tokens, !config.tls_client_ca.empty()});
  if (!auth.ok()) return Fail("auth_tokens_unusable", auth.status());
  (*auth)->WatchFile(std::chrono::seconds(2));

  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Fail("data_dir_unusable", Internal(config.data_dir + ": " + ec.message()));
  const std::string data_dir = fs::absolute(config.data_dir).lexically_normal().string();

  auto stores = OpenStores({config.store, config.blob_store, config.store_connections}, data_dir);
  if (!stores.ok()) return Fail("store_unavailable", stores.status());
  JobStore& job_store = *stores->jobs;
  BlobStore& blob_store = *stores->blobs;
  const std::string replica_id =
      config.replica_id.empty() ? DefaultReplicaId() : config.replica_id;
  std::unique_ptr<JobRunner> runner = MakePipelineJobRunner();
  int64_t job_max_memory = 0;
  if (config.isolation == "process") {
    WorkerProcessOptions worker;
    job_max_memory = config.job_max_memory > 0
                         ? config.job_max_memory
                         : DefaultMemoryShare(config.workers, MemoryLimitOfThisMachine());
    worker.max_memory_bytes = job_max_memory;
    worker.debug_abort_op = config.debug_abort_op;
    runner = MakeProcessJobRunner(worker, std::move(runner));
  }

  std::shared_ptr<ServerObserver> observer = NullObserver();
  std::atomic<bool> ready{false};
#ifdef GRAPHOPT_HAVE_METRICS
  auto metrics = std::make_shared<metrics::ServerMetrics>();
  {
    std::vector<std::string> targets;
    for (const TargetProfile* profile : TargetRegistry::Get().All()) {
      targets.push_back(profile->name);
    }
    metrics->PrecreateSeries({"disabled", "basic", "extended", "layout", "all"}, targets);
  }
  observer = MakeMetricsObserver(metrics);
  std::unique_ptr<http::MetricsHttpServer> http_server;
  if (config.metrics_listen != "off") {
    http::MetricsHttpOptions http_options;
    if (!http::ParseListenAddress(config.metrics_listen, &http_options.host, &http_options.port)) {
      return Fail("metrics_listen_invalid", InvalidArgument(config.metrics_listen));
    }
    http_server = std::make_unique<http::MetricsHttpServer>(
        http_options, http::MetricsHttpHandlers{[metrics] { return metrics->RenderText(); },
                                                [&ready] { return ready.load(); }});
    Status started = http_server->Start();
    if (!started.ok()) return Fail("metrics_listen_failed", started);
    LogEvent(spdlog::level::info, "metrics_listening",
             {{"address", http_options.host}, {"port", http_server->port()}});
  }
#endif

  JobManagerOptions job_options;
  job_options.workers = config.workers;
  job_options.queue_capacity = static_cast<size_t>(config.queue_size);
  job_options.job_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(config.job_timeout_seconds * 1000));
  job_options.work_dir = data_dir + "/work";
  job_options.debug_pass_delay_ms = config.debug_pass_delay_ms;
  job_options.max_queued_jobs_per_tenant = config.tenant_max_queued_jobs;
  job_options.max_attempts = config.max_attempts;
  if (stores->leased) {
    job_options.shared.store = stores->leased;
    job_options.shared.owner = replica_id;
    job_options.shared.lease =
        std::chrono::milliseconds(static_cast<int64_t>(config.lease_seconds * 1000));
  }
  job_options.write_probe = [data_dir, &job_store]() -> Status {
    RETURN_IF_ERROR(ProbeWritableDirectory(data_dir));
    return job_store.CheckWritable();
  };
  JobManager jobs(job_store, blob_store, *runner, observer, job_options);
  Status started = jobs.Start();
  if (!started.ok()) return Fail("job_recovery_failed", started);

  StorageCollectorOptions gc_options;
  gc_options.retention = std::chrono::milliseconds(config.retention_ms);
  gc_options.max_storage_bytes = config.max_storage_bytes;
  gc_options.interval = std::chrono::milliseconds(config.gc_interval_ms);
  gc_options.grace = std::chrono::milliseconds(config.gc_grace_ms);
  StorageCollector collector(job_store, blob_store, observer, gc_options);
  collector.Start();

  boost::asio::thread_pool blocking_pool(2);
  ServiceContext context{jobs,     job_store, blob_store, observer, config.max_upload_bytes,
                         blocking_pool};
  context.auth = auth->get();
  context.max_storage_bytes_per_tenant = config.tenant_max_storage_bytes;
  context.collector = &collector;
  GrpcServerOptions grpc_options;
  grpc_options.listen = config.listen;
  grpc_options.max_concurrent_streams = config.max_concurrent_streams;
  grpc_options.tls_cert = config.tls_cert;
  grpc_options.tls_key = config.tls_key;
  grpc_options.tls_client_ca = config.tls_client_ca;
  grpc_options.client_certificate_optional = !config.auth_tokens.empty();
  grpc_options.tls_refresh_seconds = config.tls_refresh_seconds;
  grpc_options.reflection = !(*auth)->enabled();
  auto grpc_server = GrpcServer::Start(context, grpc_options);
  if (!grpc_server.ok()) {
    jobs.Shutdown(std::chrono::milliseconds(0));
    return Fail("listen_failed", grpc_server.status());
  }
  // Ready while the store takes writes: a full disk or a read-only data folder is not-ready
  // (at start too) until writes succeed again.
  ReadinessWatch readiness(
      [&](bool now) {
        (*grpc_server)->SetServing(now);
        ready = now;
        observer->OnReady(now);
      },
      [&jobs] { return jobs.store_writable(); });
  LogEvent(spdlog::level::info, "server_started",
           {{"listen", config.listen},
            {"port", (*grpc_server)->port()},
            {"data_dir", data_dir},
            {"store", stores->description},
            {"replica", replica_id},
            {"tls", !config.tls_cert.empty()},
            {"mutual_tls", !config.tls_client_ca.empty()},
            {"auth", (*auth)->enabled() ? "required" : "none (default tenant)"},
            {"workers", config.workers},
            {"queue_size", config.queue_size},
            {"max_upload_bytes", config.max_upload_bytes},
            {"job_timeout_seconds", config.job_timeout_seconds},
            {"isolation", config.isolation},
            {"job_max_memory", job_max_memory},
            {"max_attempts", config.max_attempts},
            {"recovered_queued_jobs", jobs.queue_depth()}});

  int signal_number = 0;
  while (true) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // SIGHUP: re-read the tokens (certificates are watched by gRPC itself).
    Status reloaded = (*auth)->Reload();
    LogEvent(reloaded.ok() ? spdlog::level::info : spdlog::level::err, "reload",
             {{"signal", "SIGHUP"}, {"tokens", reloaded.ok() ? "reloaded" : reloaded.message()}});
  }
  const auto grace =
      std::chrono::milliseconds(static_cast<int64_t>(config.grace_period_seconds * 1000));
  LogEvent(spdlog::level::info, "shutdown_started",
           {{"signal", strsignal(signal_number)},
            {"grace_seconds", config.grace_period_seconds},
            {"drain_delay_seconds", config.drain_delay_seconds}});
  // 1. Readiness first (/readyz 503, gRPC health NOT_SERVING), while calls are still served
  //    for the drain delay, so load balancers stop routing here before anything is refused.
  readiness.Stop();
  ready = false;
  observer->OnReady(false);
  (*grpc_server)->SetServing(false);
  if (config.drain_delay_seconds > 0) {
    LogEvent(spdlog::level::info, "drain_started", {{"seconds", config.drain_delay_seconds}});
    std::this_thread::sleep_for(std::chrono::milliseconds(
        static_cast<int64_t>(config.drain_delay_seconds * 1000)));
  }
  // 2. Jobs get the grace period (queued ones stay queued for the next start or replica), while
  //    the listener stays up so watchers of running jobs see them end.
  collector.Stop();
  const bool workers_stopped = jobs.Shutdown(grace);
  // 3. Then the listener closes; a stream still open after a second (a health watch, a watcher
  //    of a job another replica runs) is cancelled rather than holding the pod.
  (*grpc_server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  blocking_pool.join();
#ifdef GRAPHOPT_HAVE_METRICS
  if (http_server) http_server->Stop();
#endif
  LogEvent(spdlog::level::info, "shutdown_finished", {{"workers_stopped", workers_stopped}});
  spdlog::default_logger()->flush();
  if (!workers_stopped) {
    // A worker is stuck inside a pass; its job is re-queued by the next start. Do not wait.
    std::_Exit(0);
  }
  return 0;
}

}  // namespace
}  // namespace graphopt::server

int main(int argc, char** argv) {
  using namespace graphopt::server;
  const std::vector<std::string> args(argv + 1, argv + argc);
  // A job's worker process (process isolation): the same binary, started by ProcessJobRunner.
  if (IsWorkerInvocation(args)) return RunJobWorker(args);
  auto parsed = ParseServerConfig(args);
  if (!parsed.config) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  // Block the stop signals before any thread starts (the logger's flusher is the first): every
  // thread inherits the mask, so only sigwait sees them, and a second SIGTERM during the drain
  // cannot kill the process through a thread that left them unblocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  graphopt::Status logging = InitLogging(parsed.config->log_level, parsed.config->log_format);
  if (!logging.ok()) {
    std::fprintf(stderr, "graphopt-server: %s\n", logging.ToString().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (std::string refused = SecurityConfigError(*parsed.config); !refused.empty()) {
    LogEvent(spdlog::level::critical, "insecure_configuration_refused", {{"error", refused}});
    std::fprintf(stderr, "graphopt-server: %s\n", refused.c_str());
    return 2;
  }
  // Jobs, models and artifacts are the tenants' data: files 0600, directories 0700.
  umask(0077);
  return Run(*parsed.config, signals);
}
