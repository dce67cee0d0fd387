// BlobStore in PostgreSQL: each blob is a row in `blobs` plus its bytes in fixed-size chunks in
// `blob_chunks`, all inserted in one transaction, so every replica sees a blob whole or not at
// all and reads back the same bytes. Writers spool to a local file first (uploads arrive in small
// pieces and are validated before they are committed).
#pragma once

#include <memory>
#include <string>

#include "server/store/blob_store.h"
#include "server/store/postgres_connection.h"

namespace graphopt::server {

class PostgresBlobStore : public BlobStore {
 public:
  static constexpr int kDefaultChunkBytes = 1 << 20;

  // `pool` is usually PostgresJobStore::pool() (whose Open applied the schema); `spool_dir` is
  // a local folder for writers' temporary files.
  static Result<std::unique_ptr<PostgresBlobStore>> Create(std::shared_ptr<PgConnectionPool> pool,
                                                           const std::string& spool_dir,
                                                           int chunk_bytes = kDefaultChunkBytes);

  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  Result<BlobInfo> ImportFile(const std::string& path) override;
  Result<std::unique_ptr<BlobReader>> Open(const std::string& digest) override;
  bool Contains(const std::string& digest) override;
  Status MaterializeAt(const std::string& digest, const std::string& path) override;
  // touched_at is blobs.created_at, set again when the same bytes are committed.
  Status Touch(const std::string& digest) override;
  Result<std::vector<BlobInfo>> ListBlobs() override;
  Result<int64_t> DeleteIfUntouchedSince(const std::string& digest,
                                         int64_t touched_before_ms) override;

  // Stores the complete local file `path` (already hashed to `digest`) unless the digest exists.
  Result<BlobInfo> CommitFile(const std::string& path, const std::string& digest, int64_t size);
  const std::string& spool_dir() const { return spool_dir_; }

 private:
  PostgresBlobStore(std::shared_ptr<PgConnectionPool> pool, std::string spool_dir, int chunk)
      : pool_(std::move(pool)), spool_dir_(std::move(spool_dir)), chunk_bytes_(chunk) {}

  std::shared_ptr<PgConnectionPool> pool_;
  std::string spool_dir_;
  int chunk_bytes_;
};

}  // namespace graphopt::server
