#include "backend/local/local_backend.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <set>

#include <sodium.h>

#include "hoardfs/backend_factories.h"

namespace hoardfs {

namespace local_detail {

Status error_status(int err, const std::string& what) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case EROFS:  // a read-only store refuses writes like a bucket policy would
      return Status::permission_denied(message);
    case ENAMETOOLONG:
      return Status::invalid_argument(message);
    case ENOENT:  // callers that mean "no such object" say so themselves
      return Status::io_error(message, err);
    case ETIMEDOUT:
    case EAGAIN:
    case EINTR:  // e.g. an NFS-mounted store that may answer next time
      return Status::io_error(message, err, /*retryable=*/true);
    default:
      return Status::from_errno(err, what);  // EACCES/EPERM, ENOSPC/EDQUOT, EIO...
  }
}

}  // namespace local_detail

using local_detail::error_status;

namespace {

constexpr int kMaxDirRaces = 16;  // a concurrent remove() may prune a directory we are writing into

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return error_status(errno, "writing " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

Status conflict(const std::string& key, const char* why) {
  return Status::invalid_argument("invalid object key '" + key + "' for a local store: " + why);
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::open(const std::string& root, Options options) {
  if (root.empty() || root[0] != '/') {
    return Status::invalid_argument("local storage path must be absolute: '" + root + "'");
  }
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  for (size_t start = 1; start < clean.size();) {
    size_t end = std::min(clean.find('/', start), clean.size());
    std::string_view part(clean.data() + start, end - start);
    if (part == "." || part == ".." || part.empty()) {
      return Status::invalid_argument("local storage path must be normalized (no '.', '..' or '//'): '" +
                                      root + "'");
    }
    start = end + 1;
  }
  struct stat st {};
  if (stat(clean.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return Status::invalid_argument("local storage path is not a directory: '" + clean + "'");
  }
  if (clean == "/") clean.clear();  // keys are joined with "/": "/data/ab/..."
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(clean), std::move(options)));
}

LocalBackend::LocalBackend(std::string root, Options options)
    : root_(std::move(root)), options_(std::move(options)) {}

std::string LocalBackend::describe() const { return "local://" + (root_.empty() ? "/" : root_); }

void LocalBackend::trace(std::string_view step, const std::string& path) const {
  if (options_.trace) options_.trace(step, path);
}

Status LocalBackend::check_key(const std::string& key) const {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  if (key.front() == '/' || key.back() == '/') return conflict(key, "starts or ends with '/'");
  for (size_t start = 0; start <= key.size();) {
    size_t end = std::min(key.find('/', start), key.size());
    std::string_view part(key.data() + start, end - start);
    if (part.empty() || part == ".") return conflict(key, "empty or '.' path component");
    if (part.starts_with(kTempPrefix)) return conflict(key, "reserved temp-file name");
    if (part.size() > NAME_MAX) return conflict(key, "path component longer than NAME_MAX");
    start = end + 1;
  }
  return Status::ok();
}

Status LocalBackend::sync_dir(const std::string& dir) const {
  int fd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error_status(errno, "opening directory " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return error_status(err, "fsync of directory " + dir);
  trace("fsync-dir", dir);
  return Status::ok();
}

// Called with dirs_mutex_ held. Makes every directory from the root down to
// `dir` exist with a durable entry in its parent. A directory that already
// exists but is not in durable_dirs_ may have just been made by another
// process or thread that has not fsync'd its parent yet, so it is fsync'd
// here too rather than trusted. The root and its ancestors, when they exist,
// were made durable by whoever set up the store.
Status LocalBackend::make_parents(const std::string& dir) {
  auto make = [&](const std::string& p, bool sync_existing) -> Status {
    bool created = ::mkdir(p.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) {
      if (errno == ENOTDIR) return Status::invalid_argument("a parent of " + p + " is an object");
      return error_status(errno, "creating directory " + p);
    }
    if (created) trace("mkdir", p);
    if (created || sync_existing) HOARDFS_RETURN_IF_ERROR(sync_dir(parent_of(p)));
    return Status::ok();
  };
  std::vector<std::string> chain;  // dir, its parent, ... up to the root or "/", then reversed
  size_t stop = root_ready_ ? root_.size() : 0;
  for (std::string p = dir; p.size() > stop && p != "/"; p = parent_of(p)) chain.push_back(p);
  std::reverse(chain.begin(), chain.end());
  for (const std::string& p : chain) {
    bool below_root = p.size() > root_.size();
    if (below_root && durable_dirs_.count(p) != 0) continue;
    HOARDFS_RETURN_IF_ERROR(make(p, below_root));
    if (below_root) durable_dirs_.insert(p);
  }
  root_ready_ = true;
  return Status::ok();
}

Status LocalBackend::prepare_dir(const std::string& dir, bool known_missing) {
  std::lock_guard lock(dirs_mutex_);
  if (known_missing) {
    // Someone removed it behind our back, perhaps with its parents and the root.
    for (std::string p = dir; p.size() > root_.size(); p = parent_of(p)) durable_dirs_.erase(p);
    root_ready_ = false;
  } else if (dir.size() <= root_.size() || durable_dirs_.count(dir) != 0) {
    return Status::ok();
  }
  return make_parents(dir);
}

Status LocalBackend::write_temp(const std::string& dir, std::string_view data,
                                std::string* temp_path) const {
  static std::atomic<uint64_t> counter{0};
  int fd = -1;
  std::string path;
  do {
    path = dir + "/" + std::string(kTempPrefix) + std::to_string(getpid()) + "-" +
           std::to_string(counter++) + "-" + std::to_string(randombytes_random());
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EEXIST);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::io_error("no directory " + dir, errno);
    return error_status(errno, "creating " + path);
  }
  Status status = write_all(fd, data, path);
  if (status.is_ok()) {
    if (::fsync(fd) == 0) {
      trace("fsync-file", path);
      // Durable and clean: the pages go back to the kernel at once instead of
      // crowding out the block cache's (readers of an object are served by
      // the block cache in front of the backend).
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    } else {
      status = error_status(errno, "fsync of " + path);
    }
  }
  // close() can report a deferred write error (NFS); it counts as a failed write.
  if (::close(fd) != 0 && status.is_ok()) status = error_status(errno, "closing " + path);
  if (!status.is_ok()) {
    ::unlink(path.c_str());
    return status;
  }
  *temp_path = std::move(path);
  return Status::ok();
}

Status LocalBackend::publish(const std::string& temp, const std::string& target, Publish mode) const {
  if (mode == Publish::kReplace) {
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      if (errno == EISDIR) return Status::invalid_argument(target + " is a directory of other keys");
      return error_status(errno, "renaming to " + target);
    }
    trace("rename", target);
    return Status::ok();
  }
  // Exclusive create: renameat2(RENAME_NOREPLACE) where the file system has it,
  // else link(), which every POSIX file system makes atomic and exclusive.
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
    trace("rename-noreplace", target);
    return Status::ok();
  }
  if (errno == EEXIST) return Status::already_exists("already exists: " + target);
  if (errno != EINVAL && errno != ENOSYS) return error_status(errno, "renaming to " + target);
  if (::link(temp.c_str(), target.c_str()) != 0) {
    if (errno == EEXIST) return Status::already_exists("already exists: " + target);
    if (errno == EPERM || errno == ENOTSUP) {
      return Status::unsupported("put_if_absent: the file system of " + root_ +
                                 " has neither RENAME_NOREPLACE nor hard links");
    }
    return error_status(errno, "linking " + target);
  }
  trace("link", target);
  ::unlink(temp.c_str());
  return Status::ok();
}

Status LocalBackend::store(const std::string& key, std::string_view data, Publish mode) {
  HOARDFS_RETURN_IF_ERROR(check_key(key));
  std::string target = path_of(key);
  std::string dir = parent_of(target);
  std::string temp;
  for (int attempt = 0;; ++attempt) {
    Status written = write_temp(dir, data, &temp);
    if (written.is_ok()) {
      // The temp file pins the directory (rmdir fails while it is there), so
      // once its entry is durable the rename below lands in a durable place.
      Status ready = prepare_dir(dir, /*known_missing=*/false);
      if (!ready.is_ok()) {
        ::unlink(temp.c_str());
        return ready;
      }
      break;
    }
    if (written.error_number() == ENOTDIR) return conflict(key, "a parent path is an object");
    if (written.error_number() != ENOENT || attempt == kMaxDirRaces) return written;
    HOARDFS_RETURN_IF_ERROR(prepare_dir(dir, /*known_missing=*/true));
  }
  Status published = publish(temp, target, mode);
  if (!published.is_ok()) {
    ::unlink(temp.c_str());
    return published;
  }
  return sync_dir(dir);
}

Status LocalBackend::put(const std::string& key, std::string_view data) {
  return store(key, data, Publish::kReplace);
}

Status LocalBackend::put_if_absent(const std::string& key, std::string_view data) {
  Status status = store(key, data, Publish::kExclusive);
  if (status.code() == Status::Code::kAlreadyExists) return Status::already_exists("already exists: " + key);
  return status;
}

Status LocalBackend::read(const std::string& key, uint64_t offset, uint64_t length, std::string* out) const {
  std::string path = path_of(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::not_found("not found: " + key);
    return error_status(errno, "opening " + path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return error_status(err, "stat of " + path);
  }
  if (!S_ISREG(st.st_mode)) {  // a directory of other keys is no object
    ::close(fd);
    return Status::not_found("not found: " + key);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t want = offset >= size ? 0 : std::min(length, size - offset);
  // Into *out's own storage: a caller that passes the same string again
  // (the block cache's fetch) has its bytes zero-filled only where it grows.
  std::string& buffer = *out;
  buffer.resize(want);
  uint64_t done = 0;
  while (done < want) {
    ssize_t n = ::pread(fd, buffer.data() + done, want - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return error_status(err, "reading " + path);
    }
    if (n == 0) break;  // objects are never written in place, but do not spin on a truncated file
    done += static_cast<uint64_t>(n);
  }
  // What was read is the caller's now (the block cache keeps it): its pages
  // go back to the kernel rather than pushing others out.
  ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(done), POSIX_FADV_DONTNEED);
  ::close(fd);
  buffer.resize(done);
  return Status::ok();
}

Status LocalBackend::get(const std::string& key, std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_key(key));
  return read(key, 0, UINT64_MAX, out);
}

Status LocalBackend::get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_key(key));
  return read(key, offset, length, out);
}

Status LocalBackend::head(const std::string& key, ObjectInfo* info) {
  HOARDFS_RETURN_IF_ERROR(check_key(key));
  std::string path = path_of(key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::not_found("not found: " + key);
    return error_status(errno, "stat of " + path);
  }
  if (!S_ISREG(st.st_mode)) return Status::not_found("not found: " + key);
  info->key = key;
  info->size = static_cast<uint64_t>(st.st_size);
  return Status::ok();
}

Status LocalBackend::remove(const std::vector<std::string>& keys) {
  for (const auto& key : keys) HOARDFS_RETURN_IF_ERROR(check_key(key));
  std::set<std::string> touched;
  Status status;
  for (const auto& key : keys) {
    std::string path = path_of(key);
    if (::unlink(path.c_str()) == 0) {
      touched.insert(parent_of(path));
      continue;
    }
    int err = errno;
    struct stat st {};
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) continue;  // no such object
    if (err == EPERM && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    status = error_status(err, "removing " + path);
    break;
  }
  // Make the removals durable before pruning, which may take directories away.
  for (const auto& dir : touched) {
    Status synced = sync_dir(dir);
    // ENOENT: another remove() pruned it, after its own sync.
    if (status.is_ok() && !synced.is_ok() && synced.error_number() != ENOENT) status = synced;
  }
  for (const auto& dir : touched) prune_empty_dirs(dir);
  return status;
}

// Removes `dir` and its ancestors below the root while they are empty, so a
// cleared store leaves no skeleton behind. Under dirs_mutex_, together with
// forgetting them, so that make_parents() never trusts a removed directory.
void LocalBackend::prune_empty_dirs(const std::string& dir) {
  std::lock_guard lock(dirs_mutex_);
  for (std::string p = dir; p.size() > root_.size(); p = parent_of(p)) {
    if (::rmdir(p.c_str()) != 0) return;  // ENOTEMPTY: still in use
    durable_dirs_.erase(p);
  }
}

Status LocalBackend::list(const std::string& prefix, const std::string& start_after, size_t max_keys,
                          ListPage* page) {
  return local_detail::list_page(root_, prefix, start_after, max_keys, page);
}

}  // namespace hoardfs
