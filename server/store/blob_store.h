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

#include "optimizer/util/status.h"

namespace graphopt::server {

struct BlobInfo {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
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
  // Makes the blob durable and visible under its digest.
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
};

}  // namespace graphopt::server
