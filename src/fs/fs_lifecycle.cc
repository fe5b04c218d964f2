// Opening a mount (cache folder, local or downloaded metadata, crash
// recovery), periodic and final metadata uploads, statistics, shutdown.
//
// Cache folder of one filesystem:
//   lock          flock()ed while mounted: one mount per cache folder
//   identity      which filesystem this cache belongs to (keyed hash)
//   metadata.db   the live namespace (SQLite WAL)
//   state         the metadata version this database was last uploaded as / downloaded from
//   clean         present only after a clean shutdown: every cache block is uploaded
//   blocks/       cached block files
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>

#include "fs/filesystem_impl.h"
#include "hoardfs/log.h"
#include "hoardfs/object_names.h"
#include "metadata/schema.h"

namespace hoardfs {

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

Status write_small_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::from_errno(errno, "writing " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return Status::from_errno(errno, "writing " + path);
  return Status::ok();
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string cache_identity(const KeyMaterial& keys) {
  BlockHash h = hash_block(keys, "hoardfs cache identity");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < 16; ++i) {
    hex += digits[h[i] >> 4];
    hex += digits[h[i] & 15];
  }
  return hex;
}

std::string describe_age(int64_t uploaded_unix) {
  int64_t age = static_cast<int64_t>(::time(nullptr)) - uploaded_unix;
  if (age < 120) return std::to_string(std::max<int64_t>(age, 0)) + " seconds";
  if (age < 7200) return std::to_string(age / 60) + " minutes";
  if (age < 172800) return std::to_string(age / 3600) + " hours";
  return std::to_string(age / 86400) + " days";
}

}  // namespace

Result<std::unique_ptr<Filesystem>> Filesystem::open(Backend& backend, const KeyMaterial& keys,
                                                     uint32_t block_size, const MountOptions& options) {
  auto fs = std::make_unique<FilesystemImpl>(backend, keys, block_size, options);
  Status s = fs->open_all();
  if (!s.is_ok()) {
    fs->release_lock_after_failed_open();
    return s;
  }
  return std::unique_ptr<Filesystem>(std::move(fs));
}

FilesystemImpl::FilesystemImpl(Backend& backend, const KeyMaterial& keys, uint32_t block_size,
                               MountOptions options)
    : backend_(backend),
      keys_(keys),
      block_size_(block_size),
      options_(std::move(options)),
      // AES-256-GCM on a CPU with AES-NI (twice XChaCha20-Poly1305's speed
      // there), XChaCha20-Poly1305 elsewhere; either reads on any CPU.
      codec_(keys_, options_.zstd_level),
      db_path_(options_.cache_dir + "/metadata.db"),
      mount_lock_(backend_) {
  db_.set_observer(&attrs_);
}

FilesystemImpl::~FilesystemImpl() {
  stop_invalidations();
  // Without shutdown() (a failed open, or a test's simulated kill -9) the
  // open batch is not committed: closing the database rolls it back.
  stop_batching(/*commit=*/false);
  if (!shut_down_) {
    {
      std::lock_guard lock(timer_mu_);
      timer_stop_ = true;
    }
    timer_cv_.notify_all();
    if (metadata_timer_.joinable()) metadata_timer_.join();
    if (lock_heartbeat_.joinable()) lock_heartbeat_.join();
    if (cache_) cache_->stop();
  }
  statements_.clear();
  census_db_.close();
  db_.close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status FilesystemImpl::open_all() {
  const std::string& dir = options_.cache_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create cache directory " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  lock_fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Status::from_errno(errno, "opening " + dir + "/lock");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::already_exists("its cache directory " + dir + " is in use by another hoardfs process on this host");
  }

  // This cache folder's id in the manifests it uploads.
  std::string writer = read_small_file(dir + "/writer");
  if (writer.size() != 32) {
    writer = object_names::random_hex(16);
    HOARDFS_RETURN_IF_ERROR(write_small_file(dir + "/writer", writer));
  }
  metadata_sync_ = std::make_unique<MetadataSync>(
      backend_, codec_, MetadataSync::Options{1 << 20, options_.keep_metadata_versions, writer});
  if (options_.backend_lock) {
    HOARDFS_RETURN_IF_ERROR(mount_lock_.acquire(this_holder(dir), options_.stale_lock, &broken_lock_));
  }

  // Decide whether the local database can be used.
  auto versions = metadata_sync_->list_versions();
  if (!versions.is_ok()) return versions.status().with_context("listing metadata versions");
  if (versions->empty()) return Status::not_found("the backend holds no metadata version");
  const MetadataVersion newest = versions->back();
  const std::string identity = cache_identity(keys_);
  bool use_local = ::access(db_path_.c_str(), F_OK) == 0 && read_small_file(dir + "/identity") == identity;
  if (use_local) {
    uint64_t local_version = std::strtoull(read_small_file(dir + "/state").c_str(), nullptr, 10);
    if (local_version > newest.version) {
      return Status::corruption(fmt::format(
          "the newest metadata version in the backend is {}, but this cache already uploaded or downloaded "
          "version {}: newer metadata versions were deleted or rolled back in the backend (if you trust the "
          "backend as it is now, move the cache folder {} aside and mount again)",
          newest.version, local_version, dir));
    }
    if (local_version < newest.version) {
      // Versions this cache folder uploaded itself (a crash came between the
      // upload and recording it) are snapshots of the local database, which
      // is at least as new; versions from elsewhere make it stale.
      std::string other_writer;
      for (const auto& v : *versions) {
        if (v.version <= local_version) continue;
        auto manifest = metadata_sync_->read_manifest(v.version);
        if (!manifest.is_ok()) return manifest.status().with_context("reading metadata version");
        if (manifest->writer != writer) {
          other_writer = fmt::format("version {} was uploaded by another cache folder", v.version);
          break;
        }
      }
      if (!other_writer.empty()) {
        log::warning("the local cache is older than metadata version {} in the backend ({}; mounted "
                     "elsewhere since?); discarding it", newest.version, other_writer);
        use_local = false;
      }
    }
  }
  if (!use_local) {
    for (const char* name : {"metadata.db", "metadata.db-wal", "metadata.db-shm", "clean", "state"}) {
      ::unlink((dir + "/" + name).c_str());
    }
    std::filesystem::remove_all(dir + "/blocks", ec);
    auto got = metadata_sync_->download(0, db_path_);
    if (!got.is_ok()) return got.status().with_context("downloading metadata");
    log::info("no local metadata: using metadata version {}, uploaded {} ago", got->version,
              describe_age(got->uploaded_unix));
    HOARDFS_RETURN_IF_ERROR(write_small_file(dir + "/state", std::to_string(got->version)));
    HOARDFS_RETURN_IF_ERROR(write_small_file(dir + "/identity", identity));
    HOARDFS_RETURN_IF_ERROR(write_small_file(dir + "/clean", "1"));
    metadata_version_ = got->version;
  } else {
    metadata_version_ = newest.version;
  }

  HOARDFS_RETURN_IF_ERROR(db_.open(db_path_, false));
  HOARDFS_RETURN_IF_ERROR(check_schema(db_));
  HOARDFS_RETURN_IF_ERROR(add_new_tables(db_));
  const bool after_crash = ::access((dir + "/clean").c_str(), F_OK) != 0;
  ::unlink((dir + "/clean").c_str());
  fsync_dir(dir);
  if (after_crash) log::warning("the previous mount did not shut down cleanly; recovering from the local cache");

  try {
    std::lock_guard lock(mu_);
    // Inodes unlinked while open when the last mount ended.
    std::vector<uint64_t> orphans;
    auto& st = q("SELECT id FROM inodes WHERE nlink = 0 AND id != 1");
    while (st.step()) orphans.push_back(static_cast<uint64_t>(st.int64(0)));
    st.reset();
    cache_ = std::make_unique<BlockCache>(
        BlockCache::Options{dir, block_size_, options_.cache_bytes, options_.upload_threads,
                            options_.readahead_blocks,
                            std::chrono::milliseconds(static_cast<int64_t>(options_.writeback_delay_s * 1000)),
                            /*pack_small_blocks=*/true,
                            options_.sequential_cutoff_bytes / block_size_ +
                                (options_.sequential_cutoff_bytes % block_size_ != 0)},
        backend_, codec_, *this);
    for (uint64_t ino : orphans) purge_inode(ino);
    auto& caps = q(kAnyCapabilitySql);
    capabilities_stored_ = caps.step();
    caps.reset();
  } catch (const std::exception& e) {
    return Status::io_error(std::string("reading metadata: ") + e.what());
  }

  Status recovered = cache_->recover(after_crash, [this](uint64_t ino, uint64_t blockno) -> uint64_t {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    const uint64_t start = blockno * block_size_;
    if (!row || !S_ISREG(row->mode) || start >= row->size) return 0;
    return std::min<uint64_t>(block_size_, row->size - start);
  });
  HOARDFS_RETURN_IF_ERROR(recovered);
  if (after_crash) {
    // Objects the crashed mount uploaded but never recorded: nothing can
    // reference them, so they go now rather than wait for fsck.
    std::vector<ObjectInfo> listed;
    size_t deleted = 0;
    Status swept = list_all(backend_, object_names::kDataPrefix, &listed);
    if (swept.is_ok()) swept = sweep_unreferenced_objects(listed, &deleted);
    if (!swept.is_ok()) {
      log::warning("could not remove the uploads the crash cut off (fsck.hoardfs will): {}", swept.to_string());
    } else if (deleted > 0) {
      log::info("removed {} data object(s) a crash had left unrecorded", deleted);
    }
  }
  cache_->start();
  checkpointer_.start(db_, db_path_);
  if (options_.commit_interval_ms > 0) {
    std::lock_guard lock(mu_);
    batching_ = true;
    committer_ = std::thread([this] { committer_loop(); });
  }

  if (mount_lock_.held()) {
    lock_heartbeat_ = std::thread([this] {
      std::unique_lock lock(timer_mu_);
      bool warned = false;
      while (!timer_cv_.wait_for(lock, options_.lock_heartbeat, [this] { return timer_stop_; })) {
        lock.unlock();
        Status s = mount_lock_.heartbeat();
        if (!s.is_ok() && !warned) {
          log::error("the lock {} could not be renewed: {}", object_names::lock(), s.to_string());
        }
        warned = !s.is_ok();
        lock.lock();
      }
    });
  }

  if (options_.metadata_interval_s > 0) {
    metadata_timer_ = std::thread([this] {
      std::unique_lock lock(timer_mu_);
      int64_t changes_uploaded = -1;
      while (!timer_cv_.wait_for(lock, std::chrono::seconds(options_.metadata_interval_s),
                                 [this] { return timer_stop_; })) {
        lock.unlock();
        int64_t changes;
        {
          std::lock_guard db_lock(mu_);
          changes = sqlite3_total_changes64(db_.handle());
        }
        if (changes != changes_uploaded) {
          Status s = snapshot_and_upload();
          if (s.is_ok()) changes_uploaded = changes;
          else log::error("periodic metadata upload failed: {}", s.to_string());
        }
        lock.lock();
      }
    });
  }
  return Status::ok();
}

void FilesystemImpl::stop_batching(bool commit) {
  {
    std::lock_guard lock(mu_);
    committer_stop_ = true;
  }
  batch_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  std::lock_guard lock(mu_);
  batching_ = false;
  if (commit && db_.handle()) {
    try {
      commit_batch();
    } catch (const std::exception& e) {
      log::error("committing metadata changes: {}", e.what());
    }
  }
  drop_space_reserve();
  checkpointer_.stop();  // the commits from here on checkpoint as SQLite does by itself
}

Status FilesystemImpl::snapshot_and_upload() {
  std::lock_guard upload_lock(upload_mu_);
  // A mount whose lock was broken (fsck from another host) must not
  // overwrite the new holder's work.
  HOARDFS_RETURN_IF_ERROR(mount_lock_.verify().with_context("not uploading metadata"));
  const std::string snapshot = options_.cache_dir + "/metadata.snapshot";
  ::unlink(snapshot.c_str());
  int64_t garbage_upto = 0;
  int64_t retired_upto = 0;         // packs retired before the snapshot: this version no longer names them
  int64_t changes_in_snapshot = 0;  // what the upload holds; later changes need another
  {
    std::lock_guard lock(mu_);
    try {
      commit_batch();
    } catch (const std::exception& e) {
      return Status::io_error(std::string("committing metadata changes: ") + e.what());
    }
    // Packs compaction retired, once every version kept after this upload
    // comes after them: this one gets at least the number after the newest
    // uploaded, and versions are numbered without gaps.
    try {
      const uint64_t next = metadata_version_ + 1;
      const uint64_t keep = std::max(options_.keep_metadata_versions, 1u);
      if (next + 1 > keep) {
        sql::Transaction txn(db_);
        const uint64_t oldest_kept = next + 1 - keep;
        q("INSERT INTO garbage(name) SELECT name FROM retired WHERE version <= ? ORDER BY id").bind(oldest_kept).run();
        q("DELETE FROM retired WHERE version <= ?").bind(oldest_kept).run();
        txn.commit();
      }
      auto& st = q("SELECT COALESCE(MAX(id), 0) FROM retired WHERE version IS NULL");
      if (st.step()) retired_upto = st.int64(0);
      st.reset();
    } catch (const std::exception& e) {
      return Status::io_error(std::string("releasing retired packs: ") + e.what());
    }
    changes_in_snapshot = sqlite3_total_changes64(db_.handle());
    HOARDFS_RETURN_IF_ERROR(db_.backup_to(snapshot));
    auto& st = q("SELECT COALESCE(MAX(id), 0) FROM garbage");
    if (st.step()) garbage_upto = st.int64(0);
    st.reset();
  }
  auto uploaded = metadata_sync_->upload(snapshot);
  ::unlink(snapshot.c_str());
  if (!uploaded.is_ok()) {
    backend_write_failed(uploaded.status());
    return uploaded.status().with_context("uploading metadata");
  }
  metadata_version_ = uploaded->version;
  HOARDFS_RETURN_IF_ERROR(write_small_file(options_.cache_dir + "/state", std::to_string(uploaded->version)));
  if (retired_upto > 0) {
    try {
      std::lock_guard lock(mu_);
      q("UPDATE retired SET version = ? WHERE version IS NULL AND id <= ?").bind(uploaded->version, retired_upto).run();
    } catch (const std::exception& e) {
      return Status::io_error(std::string("recording retired packs: ") + e.what());
    }
  }

  // Objects freed before the snapshot are referenced by no newer metadata
  // version, so they can go now.
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    auto& st = q("SELECT name FROM garbage WHERE id <= ?").bind(garbage_upto);
    while (st.step()) names.push_back(st.text(0));
    st.reset();
  }
  // remove() splits into the backend's own batch sizes.
  if (Status s = names.empty() ? Status::ok() : backend_.remove(names); !s.is_ok()) {
    log::warning("deleting unused objects failed (will retry after the next upload): {}", s.to_string());
    return Status::ok();
  }
  try {
    std::lock_guard lock(mu_);
    const int64_t before_delete = sqlite3_total_changes64(db_.handle());
    q("DELETE FROM garbage WHERE id <= ?").bind(garbage_upto).run();
    // Changes made while the snapshot was uploading are not in it: only when
    // there were none may the unmount skip another upload. (Forgetting the
    // deleted garbage needs none: the objects are gone either way.)
    changes_at_last_upload_ =
        before_delete == changes_in_snapshot ? sqlite3_total_changes64(db_.handle()) : changes_in_snapshot;
  } catch (const std::exception& e) {
    return Status::io_error(std::string("updating garbage list: ") + e.what());
  }
  return Status::ok();
}

bool FilesystemImpl::is_mutating(const char* op) {
  static const std::set<std::string_view> kMutating = {"create",  "write", "fallocate", "setattr",  "mknod",
                                                      "mkdir",   "symlink", "unlink", "rmdir",   "rename",
                                                      "link",    "setxattr", "removexattr"};
  return kMutating.contains(op);
}

void FilesystemImpl::backend_write_failed(const Status& why) {
  const bool refused = !why.retryable() && (why.code() == Status::Code::kPermissionDenied ||
                                            why.code() == Status::Code::kAuthFailed ||
                                            why.code() == Status::Code::kNoSpace);
  if (!refused || read_only_.exchange(true)) return;
  log::error("the backend refuses writes ({}): the filesystem is READ-ONLY from now on; what is not yet uploaded "
             "stays in the cache and goes up at the next mount once the backend accepts writes again",
             why.to_string());
}

void FilesystemImpl::release_lock_after_failed_open() {
  if (!mount_lock_.held()) return;
  if (Status released = mount_lock_.release(); !released.is_ok()) {
    log::warning("could not release the lock {}: {}", object_names::lock(), released.to_string());
  }
}

Status FilesystemImpl::flush_cache() { return cache_->flush_all(); }

Status FilesystemImpl::upload_metadata() { return snapshot_and_upload(); }

Status FilesystemImpl::shutdown() {
  if (shut_down_.exchange(true)) return Status::ok();
  { std::lock_guard compaction_done(compact_mu_); }  // it stops after its current pack
  stop_invalidations();
  {
    std::lock_guard lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (metadata_timer_.joinable()) metadata_timer_.join();
  if (lock_heartbeat_.joinable()) lock_heartbeat_.join();
  stop_batching(/*commit=*/true);
  log::info("unmounting: uploading {} dirty bytes", cache_->dirty_bytes());
  Status flushed = cache_->flush_all();
  if (!flushed.is_ok()) log::error("could not upload every block: {}", flushed.to_string());
  int64_t changes = 0;
  {
    std::lock_guard lock(mu_);
    changes = sqlite3_total_changes64(db_.handle());
  }
  // umount.hoardfs asks for an upload just before unmounting; when nothing
  // changed since, that version is already the final one.
  Status uploaded = changes == changes_at_last_upload_ ? Status::ok() : snapshot_and_upload();
  if (!uploaded.is_ok()) log::error("could not upload the metadata: {}", uploaded.to_string());
  cache_->stop();
  {
    std::lock_guard census_lock(census_mu_);
    census_db_.close();  // the checkpoint below empties the log only without other readers
  }
  {
    std::lock_guard lock(mu_);
    try {
      db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const std::exception& e) {
      log::warning("checkpoint failed: {}", e.what());
    }
  }
  if (flushed.is_ok() && uploaded.is_ok() && cache_->dirty_bytes() == 0) {
    HOARDFS_RETURN_IF_ERROR(write_small_file(options_.cache_dir + "/clean", "1"));
    fsync_dir(options_.cache_dir);
    if (Status released = mount_lock_.release(); !released.is_ok()) {
      log::warning("could not release the lock {}: {}", object_names::lock(), released.to_string());
    }
    log::info("unmounted cleanly; metadata version {}", metadata_version_.load());
    return Status::ok();
  }
  return flushed.is_ok() ? uploaded : flushed;
}

uint64_t FilesystemImpl::scalar(const char* sql) {
  auto& st = q(sql);
  const uint64_t v = st.step() ? static_cast<uint64_t>(st.int64(0)) : 0;
  st.reset();
  return v;
}

void FilesystemImpl::census(const char* sql, std::initializer_list<uint64_t*> out) {
  {
    std::lock_guard lock(mu_);
    try {
      commit_batch();
    } catch (const std::exception&) {
      // commit_batch() said what was lost; the figures are those committed.
    }
  }
  std::lock_guard lock(census_mu_);
  if (census_db_.handle() == nullptr) {
    if (Status opened = census_db_.open(db_path_, false); !opened.is_ok()) throw std::runtime_error(opened.to_string());
    census_db_.exec("PRAGMA cache_size=-2048");  // scans pass through; the OS caches the file
  }
  // One statement is one read transaction: the figures agree with each other.
  auto st = census_db_.prepare(sql);
  if (!st.step()) return;
  int column = 0;
  for (uint64_t* figure : out) *figure = static_cast<uint64_t>(st.int64(column++));
}

FsStats FilesystemImpl::stats() {
  FsStats s;
  try {
    census("SELECT (SELECT COUNT(*) FROM dentries), (SELECT COUNT(*) FROM inodes), (SELECT COUNT(*) FROM blocks), "
           "(SELECT COALESCE(SUM(length), 0) FROM extents), (SELECT COALESCE(SUM(size), 0) FROM blocks), "
           "(SELECT COALESCE(SUM(stored_size), 0) FROM objects), "
           "(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())",
           {&s.entries, &s.inodes, &s.blocks, &s.data_bytes, &s.dedup_bytes, &s.compressed_bytes,
            &s.metadata_bytes});
  } catch (const std::exception& e) {
    log_internal_error("stats", e.what());
  }
  s.cache_bytes = cache_->cached_bytes();
  s.dirty_bytes = cache_->dirty_bytes();
  s.cache_limit_bytes = cache_->max_bytes();
  s.metadata_version = metadata_version_;
  return s;
}

int FilesystemImpl::statfs(struct statvfs* out) {
  // Only what statfs reports (stats() has seven figures; rm and df ask for
  // this one).
  uint64_t inodes = 0;
  uint64_t data_bytes = 0;
  try {
    census("SELECT (SELECT COUNT(*) FROM inodes), (SELECT COALESCE(SUM(length), 0) FROM extents)",
           {&inodes, &data_bytes});
  } catch (const std::exception& e) {
    log_internal_error("statfs", e.what());
    return EIO;
  }
  *out = {};
  out->f_bsize = 4096;
  out->f_frsize = 4096;
  const uint64_t used = (data_bytes + cache_->dirty_bytes()) / 4096;
  const uint64_t free_blocks = 1ull << 38;  // object storage: effectively unlimited (1 PiB)
  out->f_blocks = used + free_blocks;
  out->f_bfree = free_blocks;
  out->f_bavail = free_blocks;
  out->f_files = inodes + (1ull << 32);
  out->f_ffree = 1ull << 32;
  out->f_favail = 1ull << 32;
  out->f_namemax = 255;
  return 0;
}

}  // namespace hoardfs
