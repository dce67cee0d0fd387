// BlobStore: immutable byte strings (models, artifacts, reports) addressed by their SHA-256.
// Narrow on purpose: a later object-store implementation only provides these calls.
//
// Contract: a blob is visible only once complete and durable (Commit returned OK); storing the
// same bytes twice keeps one copy; blobs are never modified.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "optimizer/util/status.h"

namespace graphopt::server {

struct BlobInfo {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  int64_t touched_at_ms = 0;  // last commit of these bytes (ListBlobs only)
};

// Reads a blob (or a writer's uncommitted bytes) from the start.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads up to `capacity` bytes into `buffer`; 0 at the end.
  virtual Result<size_t> Read(char* buffer, size_t capacity) = 0;
  virtual int64_t size() const = 0;
};

// Streams a new blob in. Destroying a writer without Commit discards what it wrote.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Status Append(std::string_view bytes) = 0;
  virtual int64_t size() const = 0;
  // The SHA-256 of what was appended so far, without committing ("sha256:<hex>").
  virtual std::string Digest() = 0;
  // Reads back the bytes appended so far (to validate them before committing).
  virtual Result<std::unique_ptr<BlobReader>> ReadBack() = 0;
  // Makes the blob durable and visible under its digest. Committing bytes that are already
  // stored refreshes their touched_at, which keeps garbage collection off them for its grace
  // period while the caller records its reference.
  virtual Result<BlobInfo> Commit() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> NewWriter() = 0;
  // Moves a finished local file into the store (the file is consumed).
  virtual Result<BlobInfo> ImportFile(const std::string& path) = 0;
  // kNotFound when absent.
  virtual Result<std::unique_ptr<BlobReader>> Open(const std::string& digest) = 0;
  virtual bool Contains(const std::string& digest) = 0;
  // Makes the blob available as a read-only local file at `path` (workers run the optimizer on
  // files). The file must not be modified.
  virtual Status MaterializeAt(const std::string& digest, const std::string& path) = 0;

  // Refreshes the blob's touched_at (a job about to reference it); kNotFound when absent.
  virtual Status Touch(const std::string& digest) = 0;
  // Every stored blob with its size and touched_at (for garbage collection).
  virtual Result<std::vector<BlobInfo>> ListBlobs() = 0;
  // Deletes the blob unless it was touched at or after `touched_before_ms` (a commit racing
  // with the collector wins). Returns the bytes freed: 0 when absent or spared.
  virtual Result<int64_t> DeleteIfUntouchedSince(const std::string& digest,
                                                 int64_t touched_before_ms) = 0;
};

}  // namespace graphopt::server
