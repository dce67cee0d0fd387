// PostgreSQL BlobStore: spooled writers, chunked commits and chunk-by-chunk readers.
#include "server/store/postgres_blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "server/store/job_record.h"
#include "server/store/sha256.h"

namespace graphopt::server {
namespace {

namespace fs = std::filesystem;

std::string UniqueName(const std::string& dir, const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}();
  return dir + "/" + prefix + std::to_string(::getpid()) + "-" + std::to_string(seed) + "-" +
         std::to_string(counter++);
}

// Reads a local file from the start (a writer's spool file).
class LocalFileReader : public BlobReader {
 public:
  static Result<std::unique_ptr<BlobReader>> Open(const std::string& path) {
    auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*in) return Internal("cannot read " + path);
    std::error_code ec;
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) return Internal("cannot stat " + path + ": " + ec.message());
    return std::unique_ptr<BlobReader>(new LocalFileReader(std::move(in), size));
  }
  Result<size_t> Read(char* buffer, size_t capacity) override {
    in_->read(buffer, static_cast<std::streamsize>(capacity));
    if (in_->bad()) return Internal("read error in a spooled blob");
    return static_cast<size_t>(in_->gcount());
  }
  int64_t size() const override { return size_; }

 private:
  LocalFileReader(std::unique_ptr<std::ifstream> in, int64_t size)
      : in_(std::move(in)), size_(size) {}
  std::unique_ptr<std::ifstream> in_;
  int64_t size_;
};

Result<std::string> DigestOfFile(const std::string& path, int64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  Sha256 hasher;
  std::vector<char> buffer(1 << 16);
  *size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n <= 0) break;
    hasher.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    *size += n;
  }
  if (in.bad()) return Internal("read error in " + path);
  return DigestFromHex(hasher.FinishHex());
}

class PostgresBlobWriter : public BlobWriter {
 public:
  PostgresBlobWriter(PostgresBlobStore* store, std::string path)
      : store_(store), path_(std::move(path)), out_(path_, std::ios::binary | std::ios::trunc) {}
  ~PostgresBlobWriter() override {
    out_.close();
    std::error_code ec;
    fs::remove(path_, ec);
  }
  bool opened() const { return out_.is_open(); }

  Status Append(std::string_view bytes) override {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out_) return Internal("cannot write spool file " + path_ + " (disk full?)");
    size_ += static_cast<int64_t>(bytes.size());
    digest_.clear();
    return Status::Ok();
  }
  int64_t size() const override { return size_; }
  std::string Digest() override {
    if (digest_.empty()) {
      out_.flush();
      int64_t size = 0;
      auto digest = DigestOfFile(path_, &size);
      digest_ = digest.ok() ? *digest : "";
    }
    return digest_;
  }
  Result<std::unique_ptr<BlobReader>> ReadBack() override {
    out_.flush();
    return LocalFileReader::Open(path_);
  }
  Result<BlobInfo> Commit() override {
    out_.flush();
    if (!out_) return Internal("cannot write spool file " + path_);
    const std::string digest = Digest();
    if (digest.empty()) return Internal("cannot hash spool file " + path_);
    auto info = store_->CommitFile(path_, digest, size_);
    if (info.ok()) {
      // Committed: the spool file has served its purpose.
      out_.close();
      std::error_code ec;
      fs::remove(path_, ec);
    }
    return info;
  }

 private:
  PostgresBlobStore* store_;
  std::string path_;
  std::ofstream out_;
  int64_t size_ = 0;
  std::string digest_;  // cached until the next Append
};

// Fetches one chunk at a time, so a large artifact is never held in memory whole.
class PostgresBlobReader : public BlobReader {
 public:
  PostgresBlobReader(std::shared_ptr<PgConnectionPool> pool, std::string digest, int64_t size)
      : pool_(std::move(pool)), digest_(std::move(digest)), size_(size) {}

  Result<size_t> Read(char* buffer, size_t capacity) override {
    if (offset_ == chunk_.size()) {
      if (delivered_ >= size_) return size_t{0};
      ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
      ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT data FROM blob_chunks WHERE digest = $1 AND "
                                          "idx = $2",
                                          PgParams().Text(digest_).Int(next_index_),
                                          /*binary_result=*/true));
      if (r.rows() != 1 || r.Bytes(0, 0).empty()) {
        return Internal("blob " + digest_ + " is missing chunk " + std::to_string(next_index_));
      }
      chunk_.assign(r.Bytes(0, 0));
      offset_ = 0;
      ++next_index_;
    }
    const size_t n = std::min(capacity, chunk_.size() - offset_);
    std::copy_n(chunk_.data() + offset_, n, buffer);
    offset_ += n;
    delivered_ += static_cast<int64_t>(n);
    return n;
  }
  int64_t size() const override { return size_; }

 private:
  std::shared_ptr<PgConnectionPool> pool_;
  std::string digest_;
  int64_t size_;
  int64_t delivered_ = 0;
  int64_t next_index_ = 0;
  std::string chunk_;
  size_t offset_ = 0;
};

}  // namespace

Result<std::unique_ptr<PostgresBlobStore>> PostgresBlobStore::Create(
    std::shared_ptr<PgConnectionPool> pool, const std::string& spool_dir, int chunk_bytes) {
  std::error_code ec;
  fs::create_directories(spool_dir, ec);
  if (ec) return Internal("cannot create blob spool folder " + spool_dir + ": " + ec.message());
  {
    // The schema comes from PostgresJobStore::Open; refuse a database without it.
    ASSIGN_OR_RETURN(auto conn, pool->Acquire());
    ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT to_regclass('blob_chunks') IS NOT NULL"));
    if (r.Text(0, 0) != "t") {
      return FailedPrecondition(
          "the PostgreSQL database has no blob tables; open the job store "
          "first (it applies the migrations)");
    }
  }
  return std::unique_ptr<PostgresBlobStore>(
      new PostgresBlobStore(std::move(pool), spool_dir, std::max(1024, chunk_bytes)));
}

Result<std::unique_ptr<BlobWriter>> PostgresBlobStore::NewWriter() {
  auto writer = std::make_unique<PostgresBlobWriter>(this, UniqueName(spool_dir_, "writer-"));
  if (!writer->opened()) return Internal("cannot create a spool file in " + spool_dir_);
  return std::unique_ptr<BlobWriter>(std::move(writer));
}

Result<BlobInfo> PostgresBlobStore::CommitFile(const std::string& path, const std::string& digest,
                                               int64_t size) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  Status status = conn->InTransaction([&]() -> Status {
    // A concurrent commit of the same digest waits here on the primary key and then inserts
    // nothing: one copy, visible complete once this transaction commits.
    ASSIGN_OR_RETURN(
        auto claimed,
        conn->Exec("INSERT INTO blobs (digest, size, chunk_size, "
                   "created_at) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (digest) DO UPDATE SET created_at = EXCLUDED.created_at "
                   "RETURNING xmax = 0",
                   PgParams().Text(digest).Int(size).Int(chunk_bytes_).Int(NowMillis())));
    // Already stored (xmax set by the update): only its touch time moved, which keeps a
    // collector's conditional delete off it while the caller records its reference.
    if (claimed.rows() == 0 || claimed.Text(0, 0) != "t") return Status::Ok();
    std::ifstream in(path, std::ios::binary);
    if (!in) return Internal("cannot read " + path);
    std::vector<char> chunk(static_cast<size_t>(chunk_bytes_));
    int64_t written = 0;
    for (int64_t index = 0; in; ++index) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const auto n = in.gcount();
      if (n <= 0) break;
      RETURN_IF_ERROR(conn->Exec("INSERT INTO blob_chunks (digest, idx, data) VALUES ($1, $2, $3)",
                                 PgParams().Text(digest).Int(index).Bytes(
                                     std::string_view(chunk.data(), static_cast<size_t>(n))))
                          .status());
      written += n;
    }
    if (written != size) {
      return Internal("blob file " + path + " changed while it was stored");
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(status);
  return BlobInfo{digest, size};
}

Result<BlobInfo> PostgresBlobStore::ImportFile(const std::string& path) {
  int64_t size = 0;
  ASSIGN_OR_RETURN(std::string digest, DigestOfFile(path, &size));
  ASSIGN_OR_RETURN(BlobInfo info, CommitFile(path, digest, size));
  std::error_code ec;
  fs::remove(path, ec);
  return info;
}

Result<std::unique_ptr<BlobReader>> PostgresBlobStore::Open(const std::string& digest) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r,
                   conn->Exec("SELECT size FROM blobs WHERE digest = $1", PgParams().Text(digest)));
  if (r.rows() == 0) return NotFound("no blob " + digest);
  return std::unique_ptr<BlobReader>(new PostgresBlobReader(pool_, digest, r.Int(0, 0)));
}

bool PostgresBlobStore::Contains(const std::string& digest) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return false;
  auto r = (*conn)->Exec("SELECT 1 FROM blobs WHERE digest = $1", PgParams().Text(digest));
  return r.ok() && r->rows() == 1;
}

Status PostgresBlobStore::MaterializeAt(const std::string& digest, const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, Open(digest));
  const std::string temp = path + ".part-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return Internal("cannot create " + temp);
    std::vector<char> buffer(1 << 16);
    while (true) {
      auto n = reader->Read(buffer.data(), buffer.size());
      if (!n.ok()) {
        out.close();
        std::remove(temp.c_str());
        return n.status();
      }
      if (*n == 0) break;
      out.write(buffer.data(), static_cast<std::streamsize>(*n));
    }
    if (!out.flush()) return Internal("cannot write " + temp);
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) return Internal("cannot move " + temp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

Status PostgresBlobStore::Touch(const std::string& digest) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // Waits on the row lock of a collector deleting it, then finds it gone (kNotFound).
  ASSIGN_OR_RETURN(auto r, conn->Exec("UPDATE blobs SET created_at = $2 WHERE digest = $1",
                                      PgParams().Text(digest).Int(NowMillis())));
  if (r.affected() == 0) return NotFound("blob " + digest + " is not stored");
  return Status::Ok();
}

Result<std::vector<BlobInfo>> PostgresBlobStore::ListBlobs() {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT digest, size, created_at FROM blobs"));
  std::vector<BlobInfo> blobs;
  for (int row = 0; row < r.rows(); ++row) {
    blobs.push_back(BlobInfo{r.Text(row, 0), r.Int(row, 1), r.Int(row, 2)});
  }
  return blobs;
}

Result<int64_t> PostgresBlobStore::DeleteIfUntouchedSince(const std::string& digest,
                                                          int64_t touched_before_ms) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // One statement: a concurrent commit of the same bytes either touched the row first (spared)
  // or waits on the row lock and then inserts it again. Chunks go by ON DELETE CASCADE.
  ASSIGN_OR_RETURN(auto r, conn->Exec("DELETE FROM blobs WHERE digest = $1 AND created_at < $2 "
                                      "RETURNING size",
                                      PgParams().Text(digest).Int(touched_before_ms)));
  return r.rows() == 0 ? int64_t{0} : r.Int(0, 0);
}

}  // namespace graphopt::server
