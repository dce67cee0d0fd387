// Filesystem BlobStore: temp file + fsync + rename + fsync of the folder.
#include "server/store/file_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "server/store/sha256.h"

namespace graphopt::server {

namespace fs = std::filesystem;

namespace {

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Internal(what + " " + path + ": " + std::strerror(errno));
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot fsync", path);
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

class FileReader : public BlobReader {
 public:
  FileReader(int fd, int64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FileReader() override { ::close(fd_); }

  Result<size_t> Read(char* buffer, size_t capacity) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus("cannot read", path_);
    }
  }
  int64_t size() const override { return size_; }

 private:
  int fd_;
  int64_t size_;
  std::string path_;
};

Result<std::unique_ptr<BlobReader>> OpenFileReader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no such blob file " + path);
    return ErrnoStatus("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return ErrnoStatus("cannot stat", path);
  }
  return std::unique_ptr<BlobReader>(new FileReader(fd, st.st_size, path));
}

class FileBlobWriter : public BlobWriter {
 public:
  FileBlobWriter(FileBlobStore* store, int fd, std::string temp_path)
      : store_(store), fd_(fd), temp_path_(std::move(temp_path)) {}
  ~FileBlobWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_path_.c_str());
  }

  Status Append(std::string_view bytes) override {
    if (fd_ < 0) return FailedPrecondition("blob writer already committed");
    RETURN_IF_ERROR(WriteAll(fd_, bytes.data(), bytes.size(), temp_path_));
    hasher_.Update(bytes);
    size_ += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }
  int64_t size() const override { return size_; }

  std::string Digest() override {
    if (digest_.empty()) digest_ = DigestFromHex(hasher_.FinishHex());
    return digest_;
  }

  Result<std::unique_ptr<BlobReader>> ReadBack() override { return OpenFileReader(temp_path_); }

  Result<BlobInfo> Commit() override {
    if (fd_ < 0) return FailedPrecondition("blob writer already committed");
    std::string digest = Digest();
    if (::fsync(fd_) != 0) return ErrnoStatus("cannot fsync", temp_path_);
    ::close(fd_);
    fd_ = -1;
    auto info = store_->Publish(temp_path_, digest, size_);
    if (info.ok()) committed_ = true;
    return info;
  }

 private:
  FileBlobStore* store_;
  int fd_;
  std::string temp_path_;
  Sha256 hasher_;
  std::string digest_;
  int64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace

Result<std::unique_ptr<FileBlobStore>> FileBlobStore::Create(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root + "/sha256", ec);
  if (ec) return Internal("cannot create blob folder " + root + ": " + ec.message());
  fs::remove_all(root + "/tmp", ec);
  fs::create_directories(root + "/tmp", ec);
  if (ec) return Internal("cannot create " + root + "/tmp: " + ec.message());
  return std::unique_ptr<FileBlobStore>(new FileBlobStore(root));
}

std::string FileBlobStore::PathOf(const std::string& digest) const {
  std::string hex = digest.substr(std::min(digest.size(), kDigestPrefix.size()));
  return root_ + "/sha256/" + hex.substr(0, 2) + "/" + hex;
}

Result<std::unique_ptr<BlobWriter>> FileBlobStore::NewWriter() {
  std::string pattern = TempDir() + "/upload-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot create temporary file in", TempDir());
  return std::unique_ptr<BlobWriter>(new FileBlobWriter(this, fd, name.data()));
}

Result<BlobInfo> FileBlobStore::Publish(const std::string& temp_path, const std::string& digest,
                                        int64_t size) {
  std::string target = PathOf(digest);
  std::string folder = fs::path(target).parent_path().string();
  std::error_code ec;
  if (!fs::exists(folder, ec)) {
    fs::create_directories(folder, ec);
    if (ec) return Internal("cannot create " + folder + ": " + ec.message());
    RETURN_IF_ERROR(FsyncPath(root_ + "/sha256", /*directory=*/true));
  }
  std::lock_guard lock(touch_mu_);
  if (fs::exists(target, ec)) {
    // Same bytes already stored: keep the first copy, touched so a collector spares it.
    ::unlink(temp_path.c_str());
    if (::utimensat(AT_FDCWD, target.c_str(), nullptr, 0) != 0) {
      return ErrnoStatus("cannot touch", target);
    }
    return BlobInfo{digest, size};
  }
  ::chmod(temp_path.c_str(), 0400);  // immutable, and the tenants' data: the server's alone
  if (::rename(temp_path.c_str(), target.c_str()) != 0)
    return ErrnoStatus("cannot rename to", target);
  RETURN_IF_ERROR(FsyncPath(folder, /*directory=*/true));
  return BlobInfo{digest, size};
}

Result<BlobInfo> FileBlobStore::ImportFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, OpenFileReader(path));
  Sha256 hasher;
  std::vector<char> buffer(1 << 20);
  int64_t size = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    hasher.Update(std::string_view(buffer.data(), n));
    size += static_cast<int64_t>(n);
  }
  reader.reset();
  RETURN_IF_ERROR(FsyncPath(path, /*directory=*/false));
  std::string digest = DigestFromHex(hasher.FinishHex());
  // A file on another filesystem cannot be renamed in: copy it to the temp folder first.
  std::string temp = TempDir() + "/import-" + digest.substr(kDigestPrefix.size(), 16) + "-" +
                     std::to_string(::getpid()) + "-" + std::to_string(size) + "-" +
                     fs::path(path).filename().string();
  if (::rename(path.c_str(), temp.c_str()) != 0) {
    if (errno != EXDEV) return ErrnoStatus("cannot move", path);
    std::error_code ec;
    fs::copy_file(path, temp, fs::copy_options::overwrite_existing, ec);
    if (ec) return Internal("cannot copy " + path + ": " + ec.message());
    RETURN_IF_ERROR(FsyncPath(temp, /*directory=*/false));
    fs::remove(path, ec);
  }
  return Publish(temp, digest, size);
}

Result<std::unique_ptr<BlobReader>> FileBlobStore::Open(const std::string& digest) {
  if (!IsValidDigest(digest)) return InvalidArgument("not a sha256 digest: '" + digest + "'");
  auto reader = OpenFileReader(PathOf(digest));
  if (!reader.ok() && reader.status().code() == StatusCode::kNotFound) {
    return NotFound("blob " + digest + " is not stored");
  }
  return reader;
}

bool FileBlobStore::Contains(const std::string& digest) {
  std::error_code ec;
  return IsValidDigest(digest) && fs::exists(PathOf(digest), ec);
}

Status FileBlobStore::MaterializeAt(const std::string& digest, const std::string& path) {
  if (!Contains(digest)) return NotFound("blob " + digest + " is not stored");
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  // Blobs are immutable and read-only, so a hard link is a safe zero-copy view.
  if (::link(PathOf(digest).c_str(), path.c_str()) == 0) return Status::Ok();
  fs::copy_file(PathOf(digest), path, fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal("cannot copy blob to " + path + ": " + ec.message());
  return Status::Ok();
}

namespace {

int64_t ModifiedMillis(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

}  // namespace

Status FileBlobStore::Touch(const std::string& digest) {
  if (!IsValidDigest(digest)) return InvalidArgument("not a sha256 digest: '" + digest + "'");
  const std::string path = PathOf(digest);
  std::lock_guard lock(touch_mu_);
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return Status::Ok();
  if (errno == ENOENT) return NotFound("blob " + digest + " is not stored");
  return ErrnoStatus("cannot touch", path);
}

Result<std::vector<BlobInfo>> FileBlobStore::ListBlobs() {
  std::vector<BlobInfo> blobs;
  std::error_code ec;
  const std::string base = root_ + "/sha256";
  if (!fs::exists(base, ec)) return blobs;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string digest = DigestFromHex(it->path().filename().string());
    if (!IsValidDigest(digest)) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;  // deleted meanwhile
    blobs.push_back(BlobInfo{digest, st.st_size, ModifiedMillis(st)});
  }
  if (ec) return Internal("cannot list " + base + ": " + ec.message());
  return blobs;
}

Result<int64_t> FileBlobStore::DeleteIfUntouchedSince(const std::string& digest,
                                                      int64_t touched_before_ms) {
  if (!IsValidDigest(digest)) return InvalidArgument("not a sha256 digest: '" + digest + "'");
  const std::string path = PathOf(digest);
  std::lock_guard lock(touch_mu_);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return int64_t{0};
    return ErrnoStatus("cannot stat", path);
  }
  if (ModifiedMillis(st) >= touched_before_ms) return int64_t{0};
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return int64_t{0};
    return ErrnoStatus("cannot delete", path);
  }
  return static_cast<int64_t>(st.st_size);
}

}  // namespace graphopt::server
