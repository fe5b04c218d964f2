// LocalBackend: objects as files in a local directory (local:///abs/path).
//
// Key K is the file root/K, so the '/' in hoardfs keys (data/ab/<hex>) fan
// the objects out over subdirectories and no directory grows beyond what the
// key layout puts in it. Keys must therefore also be valid relative paths:
// no leading or trailing '/', no empty, "." or temp-named component, and a
// key cannot be both an object and a "directory" of other keys ("a" and
// "a/b"); such keys give invalid_argument. object_names.h never builds them.
//
// Durability (each put is crash-safe before it returns):
//   1. create missing parent directories, fsync'ing each one's parent;
//   2. write a temp file next to the target, fsync it;
//   3. rename it over the target (put) or hard-link/rename-noreplace it to
//      the target (put_if_absent, atomic exclusive create);
//   4. fsync the directory.
// Readers open the file once and read from that descriptor, so they see the
// old or the new object whole. Temp files start with kTempPrefix, are never
// listed, and ones left by a crash are deleted by list() after a day.
//
// list() walks the directories in an order that equals the byte order of the
// keys: within a directory, a subdirectory "d" sorts as "d/" (so "a-b" comes
// before everything under "a/"). Subtrees outside the prefix or wholly before
// start_after are not read. A page costs one readdir+sort of each directory
// it touches, i.e. O(objects in one fan-out directory).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "hoardfs/backend.h"

namespace hoardfs {

class LocalBackend final : public Backend {
 public:
  static constexpr std::string_view kTempPrefix = ".hoardfs-tmp-";

  struct Options {
    // Observes each durability step, in order: "mkdir", "fsync-file",
    // "rename", "link", "fsync-dir", with the path concerned. Tests check the
    // sequence; production leaves it empty.
    std::function<void(std::string_view step, const std::string& path)> trace;
  };

  // `root` must be an absolute path; trailing slashes are ignored. A missing
  // root is created (with its parents) by the first put. invalid_argument
  // when it exists and is not a directory.
  static Result<std::unique_ptr<LocalBackend>> open(const std::string& root, Options options = {});

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  const std::string& root() const { return root_; }

 private:
  LocalBackend(std::string root, Options options);

  Status check_key(const std::string& key) const;
  std::string path_of(const std::string& key) const { return root_ + "/" + key; }
  void trace(std::string_view step, const std::string& path) const;
  Status sync_dir(const std::string& dir) const;
  // Makes `dir` and its parents exist durably (see make_parents);
  // `known_missing` after a write found the directory gone.
  Status prepare_dir(const std::string& dir, bool known_missing);
  Status make_parents(const std::string& dir);
  void prune_empty_dirs(const std::string& dir);
  // Writes and fsyncs a temp file in `dir`; *temp_path receives its path.
  Status write_temp(const std::string& dir, std::string_view data, std::string* temp_path) const;
  enum class Publish { kReplace, kExclusive };
  Status store(const std::string& key, std::string_view data, Publish mode);
  Status publish(const std::string& temp, const std::string& target, Publish mode) const;
  Status read(const std::string& key, uint64_t offset, uint64_t length, std::string* out) const;

  // Constant after construction. Objects need no lock: the file system's
  // atomic rename/link make concurrent puts and reads safe.
  const std::string root_;  // "" when the store is "/"
  const Options options_;

  // Directories below the root whose entry in their parent this process has
  // fsync'd. Lets the common put skip directory syncs; pruning and creating
  // directories both happen under the mutex so an entry is never stale.
  std::mutex dirs_mutex_;
  std::set<std::string> durable_dirs_;  // guarded by dirs_mutex_
  bool root_ready_ = false;             // the root exists; guarded by dirs_mutex_
};

namespace local_detail {
// The Status for a failed system call on a local object store.
Status error_status(int err, const std::string& what);
// One page of list(), in local_list.cc.
Status list_page(const std::string& root, const std::string& prefix, const std::string& start_after,
                 size_t max_keys, ListPage* page);
}  // namespace local_detail

}  // namespace hoardfs
