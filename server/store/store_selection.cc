// Store selection from configuration (see store_selection.h).
#include "server/store/store_selection.h"

#include <unistd.h>

#include <regex>

#include "server/store/file_blob_store.h"
#include "server/store/postgres_blob_store.h"
#include "server/store/postgres_job_store.h"
#include "server/store/sqlite_job_store.h"

namespace graphopt::server {
namespace {

bool IsPostgresDsn(const std::string& s) {
  return s.rfind("postgres://", 0) == 0 || s.rfind("postgresql://", 0) == 0;
}

}  // namespace

std::string RedactDsn(const std::string& dsn) {
  static const std::regex kUriPassword(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
  static const std::regex kKeyPassword(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))");
  std::string out = std::regex_replace(dsn, kUriPassword, "$1:***@");
  return std::regex_replace(out, kKeyPassword, "$1***");
}

std::string DefaultReplicaId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "replica");
  return std::string(host) + "-" + std::to_string(::getpid());
}

Result<OpenedStores> OpenStores(const StoreSelection& selection, const std::string& data_dir) {
  const std::string store =
      selection.store.empty() ? "sqlite:" + data_dir + "/graphopt.db" : selection.store;
  const bool postgres = IsPostgresDsn(store);
  if (!postgres && store.rfind("sqlite:", 0) != 0) {
    return InvalidArgument("--store must be sqlite:PATH or postgres://..., got '" +
                           RedactDsn(store) + "'");
  }
  const std::string& blob = selection.blob_store;
  if (blob != "file" && blob != "postgres" && blob.rfind("file:", 0) != 0) {
    return InvalidArgument("--blob-store must be file, file:DIR or postgres, got '" + blob + "'");
  }
  if (blob == "postgres" && !postgres) {
    return InvalidArgument("--blob-store postgres needs --store postgres://...");
  }

  OpenedStores opened;
  std::shared_ptr<PgConnectionPool> pool;
  if (postgres) {
    PostgresStoreOptions options;
    options.dsn = store;
    options.max_connections = selection.max_connections;
    ASSIGN_OR_RETURN(auto jobs, PostgresJobStore::Open(options));
    pool = jobs->pool();
    opened.leased = jobs.get();
    opened.jobs = std::move(jobs);
    opened.description = "postgres " + RedactDsn(store);
  } else {
    const std::string path = store.substr(std::string("sqlite:").size());
    if (path.empty()) return InvalidArgument("--store sqlite: needs a file path");
    ASSIGN_OR_RETURN(auto jobs, SqliteJobStore::Open(path));
    opened.jobs = std::move(jobs);
    opened.description = "sqlite " + path;
  }

  if (blob == "postgres") {
    ASSIGN_OR_RETURN(opened.blobs, PostgresBlobStore::Create(pool, data_dir + "/blob-spool"));
    opened.description += ", blobs in postgres";
  } else {
    const std::string root = blob == "file" ? data_dir + "/blobs" : blob.substr(5);
    if (root.empty()) return InvalidArgument("--blob-store file: needs a folder");
    ASSIGN_OR_RETURN(opened.blobs, FileBlobStore::Create(root));
    opened.description += ", blobs in " + root;
  }
  return opened;
}

}  // namespace graphopt::server
