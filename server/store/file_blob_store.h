// BlobStore on the local filesystem: <root>/sha256/<2 hex>/<64 hex>. Each blob is written to a
// temporary file under <root>/tmp, fsynced, renamed into place, and its folder fsynced, so a
// crash leaves either the whole blob or nothing.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "server/store/blob_store.h"

namespace graphopt::server {

class FileBlobStore : public BlobStore {
 public:
  // Creates the folders when needed and clears leftovers of interrupted writes in <root>/tmp.
  static Result<std::unique_ptr<FileBlobStore>> Create(const std::string& root);

  Result<std::unique_ptr<BlobWriter>> NewWriter() override;
  Result<BlobInfo> ImportFile(const std::string& path) override;
  Result<std::unique_ptr<BlobReader>> Open(const std::string& digest) override;
  bool Contains(const std::string& digest) override;
  Status MaterializeAt(const std::string& digest, const std::string& path) override;
  // touched_at is the file's modification time (set again when the same bytes are committed).
  Status Touch(const std::string& digest) override;
  Result<std::vector<BlobInfo>> ListBlobs() override;
  Result<int64_t> DeleteIfUntouchedSince(const std::string& digest,
                                         int64_t touched_before_ms) override;

  // Where a blob with this digest lives (whether or not it exists).
  std::string PathOf(const std::string& digest) const;
  const std::string& root() const { return root_; }
  // Moves a fully written, fsynced temporary file to the blob's place (used by writers).
  Result<BlobInfo> Publish(const std::string& temp_path, const std::string& digest, int64_t size);
  std::string TempDir() const { return root_ + "/tmp"; }

 private:
  explicit FileBlobStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
  // Orders a commit of existing bytes (which touches the file) against a collector's delete,
  // so the delete sees the touch or the commit sees the file gone and writes it again.
  std::mutex touch_mu_;
};

}  // namespace graphopt::server
