// Chooses and opens the stores from configuration: `--store sqlite:PATH | postgres://...` and
// `--blob-store file | file:DIR | postgres`, so main.cc only forwards two strings. With
// PostgreSQL the opened stores also offer LeasedJobStore (the shared, leased queue).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "optimizer/util/status.h"
#include "server/store/blob_store.h"
#include "server/store/job_store.h"
#include "server/store/leased_job_store.h"

namespace graphopt::server {

struct StoreSelection {
  std::string store;                // "" = sqlite:<data_dir>/graphopt.db
  std::string blob_store = "file";  // file = <data_dir>/blobs
  int max_connections = 8;          // PostgreSQL connections per replica
};

struct OpenedStores {
  std::unique_ptr<JobStore> jobs;
  std::unique_ptr<BlobStore> blobs;
  LeasedJobStore* leased = nullptr;  // set with PostgreSQL: claim/renew/requeue across replicas
  std::string description;           // for the start-up log line; passwords removed
};

// kInvalidArgument for a malformed or contradictory selection (blob store postgres without a
// PostgreSQL store), kUnavailable when a database cannot be reached.
Result<OpenedStores> OpenStores(const StoreSelection& selection, const std::string& data_dir);

// `dsn` with its password replaced by "***" (URI and key=value forms).
std::string RedactDsn(const std::string& dsn);

// "<hostname>-<pid>": unique among live replicas, readable in lease columns and logs.
std::string DefaultReplicaId();

}  // namespace graphopt::server
