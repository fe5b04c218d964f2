// list() of LocalBackend: a pruned, ordered walk of the directory tree.
// The ordering argument is in local_backend.h.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "backend/local/local_backend.h"
#include "hoardfs/log.h"

namespace hoardfs::local_detail {
namespace {

// A temp file older than this belongs to a put that died with its process.
constexpr time_t kStaleTempSeconds = 24 * 3600;

struct Entry {
  std::string sort_key;  // key of a file; "dir/" for a directory
  bool is_dir = false;
};

struct Walk {
  const std::string& root;
  const std::string& prefix;
  const std::string& start_after;
  size_t want;  // max_keys + 1: one more than a page tells whether it is truncated
  std::vector<ObjectInfo>* out;
};

// Reads directory `dir_key` ("" for the root, else "a/b/") into sorted
// entries. A missing directory is empty: a concurrent remove() may have
// pruned it.
Status read_dir(const Walk& walk, const std::string& dir_key, std::vector<Entry>* entries) {
  std::string path = walk.root + "/" + dir_key;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::ok();
    return error_status(errno, "listing " + path);
  }
  int dir_fd = dirfd(dir);
  for (;;) {
    errno = 0;  // readdir reports errors only through errno
    struct dirent* d = readdir(dir);
    if (d == nullptr) break;
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = d->d_type;
    struct stat st {};
    bool have_stat = false;
    if (type == DT_UNKNOWN || name.starts_with(LocalBackend::kTempPrefix)) {
      if (fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      have_stat = true;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (name.starts_with(LocalBackend::kTempPrefix)) {
      if (have_stat && type == DT_REG && st.st_mtime + kStaleTempSeconds < time(nullptr)) {
        // Best effort: a read-only store simply keeps it.
        if (unlinkat(dir_fd, d->d_name, 0) == 0) {
          log::info("removed stale temp file {}{}", path, name);
        }
      }
      continue;
    }
    if (type == DT_DIR) {
      entries->push_back({dir_key + std::string(name) + "/", true});
    } else if (type == DT_REG) {
      entries->push_back({dir_key + std::string(name), false});
    }  // symlinks, sockets...: not objects
  }
  int read_errno = errno;
  closedir(dir);
  if (read_errno != 0) return error_status(read_errno, "listing " + path);
  std::sort(entries->begin(), entries->end(),
            [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
  return Status::ok();
}

// Whether any key under directory `dir_key` can be in the page.
bool subtree_matters(const Walk& walk, const std::string& dir_key) {
  if (!dir_key.starts_with(walk.prefix) && !walk.prefix.starts_with(dir_key)) return false;
  // Every key under dir_key sorts before start_after exactly when dir_key does
  // and is not a prefix of it.
  if (dir_key < walk.start_after && !walk.start_after.starts_with(dir_key)) return false;
  return true;
}

Status walk_dir(const Walk& walk, const std::string& dir_key) {
  std::vector<Entry> entries;
  HOARDFS_RETURN_IF_ERROR(read_dir(walk, dir_key, &entries));
  for (const Entry& entry : entries) {
    if (walk.out->size() >= walk.want) return Status::ok();
    if (entry.is_dir) {
      if (subtree_matters(walk, entry.sort_key)) HOARDFS_RETURN_IF_ERROR(walk_dir(walk, entry.sort_key));
      continue;
    }
    const std::string& key = entry.sort_key;
    if (!key.starts_with(walk.prefix) || key <= walk.start_after) continue;
    struct stat st {};
    std::string path = walk.root + "/" + key;
    if (stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed since readdir
      return error_status(errno, "listing " + path);
    }
    walk.out->push_back({key, static_cast<uint64_t>(st.st_size)});
  }
  return Status::ok();
}

}  // namespace

Status list_page(const std::string& root, const std::string& prefix, const std::string& start_after,
                 size_t max_keys, ListPage* page) {
  page->objects.clear();
  page->truncated = false;
  if (max_keys == 0) return Status::invalid_argument("list: max_keys must be > 0");
  size_t want = max_keys == SIZE_MAX ? max_keys : max_keys + 1;
  Walk walk{root, prefix, start_after, want, &page->objects};
  HOARDFS_RETURN_IF_ERROR(walk_dir(walk, ""));
  if (page->objects.size() > max_keys) {
    page->objects.resize(max_keys);
    page->truncated = true;
  }
  return Status::ok();
}

}  // namespace hoardfs::local_detail
