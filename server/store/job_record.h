// What the stores keep about a job and its events: plain structs, free of gRPC and of the
// optimizer, so any JobStore implementation (SQLite now, PostgreSQL later) can persist them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/util/status.h"
#include "resource_labels.h"

namespace graphopt::server {

// Stored as integers: never renumber.
enum class JobState { kQueued = 1, kRunning = 2, kSucceeded = 3, kFailed = 4, kCancelled = 5 };

// The owner of everything a server without authentication stores, and of rows written before
// tenants existed.
inline constexpr const char* kDefaultTenant = "default";

const char* JobStateName(JobState state);
bool IsTerminal(JobState state);

// The options of one optimization, as the client asked for them.
struct JobOptionsRecord {
  std::string level = "basic";
  std::string target = "generic";
  std::map<std::string, int64_t> dims;
  std::set<std::string> enable;
  std::set<std::string> disable;
  bool verify = true;
  std::optional<double> atol;
  std::optional<double> rtol;
  int priority = 0;

  std::string ToJson() const;
  static Result<JobOptionsRecord> FromJson(const std::string& json);
  // Canonical text of every option that can change the artifact (so not the priority): two
  // jobs with equal keys on the same inputs produce the same bytes.
  std::string ResultKeyText() const;
};

struct JobProgressRecord {
  std::string stage = "queued";
  int pass_index = 0;
  int pass_count = 0;
  std::string pass_name;
  int round = 0;  // fixed-point round of the passes, from 1 (0 outside "optimizing")
};

struct JobRecord {
  std::string id;
  std::string tenant = kDefaultTenant;  // who created it; nobody else sees it
  int64_t seq = 0;  // assigned by the store on insert; orders listings and the queue
  JobState state = JobState::kQueued;
  std::string model_digest;
  std::map<std::string, std::string> external_data;  // location -> digest
  JobOptionsRecord options;
  // sha256 over (optimizer version, model, external data, result-relevant options): equal keys
  // mean an identical artifact, which is what the result cache looks up.
  std::string result_key;
  // result_key plus what else the client sent (priority, fresh): idempotent retries must match.
  std::string request_key;
  std::string idempotency_key;  // empty: none
  int64_t created_at_ms = 0;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  std::string error_code;  // gRPC-style code name when failed
  std::string error_message;
  std::string artifact_digest;
  int64_t artifact_size = 0;
  std::string report_digest;
  int64_t report_size = 0;
  std::string report_html_digest;  // the report as one HTML page; empty for older jobs
  int64_t nodes_before = 0;
  int64_t nodes_after = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  std::string verification_status;
  std::string graphopt_version;
  std::string cached_from_job_id;
  int attempts = 0;
  JobProgressRecord progress;  // kept in memory while the job runs; the stage is stored
  std::map<std::string, std::string> labels;
  std::string model_name;  // the model's name and version when the job was created
  std::string model_version;
};

enum class JobEventType {
  kQueued = 2,
  kStarted = 3,
  kPass = 4,
  kVerifying = 5,
  kSucceeded = 6,
  kFailed = 7,
  kCancelled = 8,
  kRequeued = 9,  // a running job put back in the queue (restart or shutdown)
};

// The event that ends a job in terminal state `s` (kFailed for a state that is not terminal).
JobEventType TerminalEventType(JobState s);

struct JobEventRecord {
  std::string job_id;
  JobEventType type = JobEventType::kQueued;
  int64_t time_ms = 0;
  JobState state = JobState::kQueued;
  JobProgressRecord progress;
  std::string error_code;
  std::string error_message;
};

struct ModelRecord {
  std::string digest;
  std::string file_name;
  int64_t size = 0;
  int kind = 1;  // the API's FileKind number: 1 = ONNX model, 2 = external data
  int64_t created_at_ms = 0;
  // Who uploaded it: a tenant reaches only the digests it uploaded itself (the bytes underneath
  // are shared and content-addressed).
  std::string tenant = kDefaultTenant;
  // Optional identity: (tenant, name, version) names at most one digest.
  std::string name;
  std::string version;
  std::map<std::string, std::string> labels;
  int64_t seq = 0;  // assigned by the store; orders listings (newest first)
};

// What one tenant holds, for its quotas.
struct TenantUsage {
  int64_t unfinished_jobs = 0;  // queued or running
  // Uploads plus the artifacts and reports of its own (not cached) jobs.
  int64_t stored_bytes = 0;
};

struct JobListQuery {
  std::optional<std::string> tenant;  // empty: every tenant's jobs
  std::optional<JobState> state;
  int page_size = 50;
  // Opaque to clients: the seq below which the next page starts (0 = first page).
  int64_t before_seq = 0;
  std::vector<LabelRequirement> selector;  // all must hold
  std::string model_name;                  // exact; empty: any
  int64_t created_after_ms = 0;            // inclusive; 0: no bound
  int64_t created_before_ms = 0;           // exclusive; 0: no bound
};

struct ModelListQuery {
  std::string tenant = kDefaultTenant;
  std::string name;  // exact; empty: any
  std::vector<LabelRequirement> selector;
  int page_size = 50;
  int64_t before_seq = 0;  // 0: first page
};

struct ModelPage {
  std::vector<ModelRecord> models;  // newest first
  int64_t next_before_seq = 0;      // 0 = no more pages
};

struct JobPage {
  std::vector<JobRecord> jobs;  // newest first
  int64_t next_before_seq = 0;  // 0 = no more pages
};

int64_t NowMillis();

}  // namespace graphopt::server
