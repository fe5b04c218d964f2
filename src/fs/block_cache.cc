#include "fs/block_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "hoardfs/log.h"
#include "hoardfs/object_names.h"

namespace hoardfs {
namespace {

constexpr int kAbsent = -1;  // acquire(): the block has no data anywhere

bool all_zero(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

// Reads exactly `length` bytes into `out` (zeros where the file has none,
// also when it cannot be opened) and returns 0 or the errno.
int read_file(const std::string& path, uint64_t offset, uint64_t length, char* out) {
  uint64_t done = 0;
  int err = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
  } else {
    while (done < length) {
      ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (n == 0) break;
      done += static_cast<uint64_t>(n);
    }
    ::close(fd);
  }
  // Past the end of the cache file the block reads as zeros.
  std::memset(out + done, 0, length - done);
  return err;
}

// Appends exactly `length` bytes to *out, as above.
int read_file(const std::string& path, uint64_t offset, uint64_t length, std::string* out) {
  const size_t start = out->size();
  out->resize(start + length);
  return read_file(path, offset, length, out->data() + start);
}

// Copies [offset, offset+length) of `block` to `out`, zeros past its end.
void copy_range(std::string_view block, uint32_t offset, uint32_t length, char* out) {
  const size_t have = offset < block.size() ? std::min<size_t>(length, block.size() - offset) : 0;
  if (have > 0) std::memcpy(out, block.data() + offset, have);
  std::memset(out + have, 0, length - have);
}

int write_file(const std::string& path, uint64_t offset, std::string_view data, int extra_flags) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | extra_flags, 0600);
  if (fd < 0) return errno;
  size_t done = 0;
  int err = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

// Whether the pages of [offset, offset+length) of the file are all in the
// page cache (cachestat(2), Linux 6.5+). True when it cannot tell: the
// caller then treats the read as a quick one, as before the check.
bool pages_cached(const std::string& path, uint64_t offset, uint64_t length) {
#ifdef __NR_cachestat
  constexpr long kCachestat = __NR_cachestat;
#else
  constexpr long kCachestat = 451;  // the same on every architecture
#endif
  struct Range {
    uint64_t off, len;
  };
  struct Counts {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
  };
  if (length == 0) return true;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = offset / page * page;
  const uint64_t end = (offset + length + page - 1) / page * page;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  Range range{first, end - first};
  Counts counts{};
  const long rc = ::syscall(kCachestat, fd, &range, &counts, 0u);
  ::close(fd);
  return rc != 0 || counts.nr_cache * page >= end - first;
}

// Held blocks take at most an eighth of the cache, and 32 MiB, counting
// each one's entry as well as its data (a tree of tiny files must not hold
// millions of them).
constexpr uint64_t kHeldEntryCost = 256;
uint64_t held_limit_for(uint64_t max_bytes) { return std::min<uint64_t>(32ull << 20, max_bytes / 8); }

// The strings fetched blocks are decoded into come back here when their
// last reader lets go, for the next fetch: ObjectCodec::decode() fills one
// of the size it held without zero-filling it first (2 GiB of memset in a
// 2 GiB cold read otherwise). At most kPooledBytes are kept, in buffers of
// up to kPooledBufferBytes. Never destroyed: a buffer may come back at exit.
class DecodeBuffers {
 public:
  static DecodeBuffers& instance() {
    static auto* pool = new DecodeBuffers;
    return *pool;
  }

  std::string take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return {};
    std::string buffer = std::move(free_.back());
    free_.pop_back();
    pooled_bytes_ -= buffer.capacity();
    return buffer;
  }

  // Owns `decoded` from now on; the last copy of the pointer returns its storage.
  std::shared_ptr<const std::string> share(std::string decoded) {
    return std::shared_ptr<const std::string>(new std::string(std::move(decoded)), [](const std::string* done) {
      std::unique_ptr<std::string> owned(const_cast<std::string*>(done));
      instance().give_back(std::move(*owned));
    });
  }

 private:
  static constexpr size_t kPooledBytes = 16 << 20;
  static constexpr size_t kPooledBufferBytes = 4 << 20;

  void give_back(std::string buffer) {
    const size_t bytes = buffer.capacity();
    if (bytes > kPooledBufferBytes) return;
    std::lock_guard lock(mu_);
    if (pooled_bytes_ + bytes > kPooledBytes) return;
    pooled_bytes_ += bytes;
    free_.push_back(std::move(buffer));
  }

  std::mutex mu_;
  std::vector<std::string> free_;
  size_t pooled_bytes_ = 0;
};

}  // namespace

BlockCache::BlockCache(Options options, Backend& backend, const ObjectCodec& codec, BlockCatalog& catalog)
    : options_(std::move(options)),
      backend_(backend),
      codec_(codec),
      catalog_(catalog),
      blocks_dir_(options_.dir + "/blocks"),
      held_limit_(held_limit_for(options_.max_bytes)),
      max_bytes_(options_.max_bytes) {}

BlockCache::~BlockCache() { stop(); }

std::string BlockCache::path_of(const Key& key) const {
  return blocks_dir_ + "/" + std::to_string(key.first) + "-" + std::to_string(key.second);
}

Status BlockCache::recover(bool after_crash, const std::function<uint64_t(uint64_t, uint64_t)>& bytes_in_file) {
  if (::mkdir(blocks_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::from_errno(errno, "creating " + blocks_dir_);
  }
  DIR* dir = ::opendir(blocks_dir_.c_str());
  if (dir == nullptr) return Status::from_errno(errno, "reading " + blocks_dir_);
  std::vector<std::pair<Key, uint64_t>> found;
  while (dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    unsigned long long ino = 0, blockno = 0;
    int consumed = 0;
    std::string path = blocks_dir_ + "/" + name;
    uint64_t limit = 0;
    if (std::sscanf(name.c_str(), "%llu-%llu%n", &ino, &blockno, &consumed) != 2 ||
        static_cast<size_t>(consumed) != name.size() || (limit = bytes_in_file(ino, blockno)) == 0) {
      ::unlink(path.c_str());
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > limit) {
      // Written past what the database records as the end of the file (its
      // size change was in a group commit the crash took): those bytes are
      // not part of the file, and a later extension must read zeros there.
      if (::truncate(path.c_str(), static_cast<off_t>(limit)) != 0) {
        return Status::from_errno(errno, "cutting cache file " + path + " to the end of its file");
      }
      size = limit;
    }
    found.push_back({{ino, blockno}, size});
  }
  ::closedir(dir);

  for (const auto& [key, size] : found) {
    Entry entry;
    entry.size = size;
    if (after_crash) {
      // The catalog is the truth for what is uploaded; a cache file that
      // differs from it holds writes that never reached the backend.
      std::string data;
      read_file(path_of(key), 0, size, &data);
      auto stored = catalog_.stored_block(key.first, key.second);
      bool clean = stored && stored->size == size && hash_block(codec_.keys(), data) == stored->hash;
      if (!stored && all_zero(data)) clean = true;
      entry.dirty = !clean;
    }
    entry.id = entry.generation = next_generation_++;
    entry.last_use = ++use_tick_;
    count_bytes_locked(key.first, static_cast<int64_t>(size));
    if (entry.dirty) {
      dirty_bytes_ += size;
      dirty_keys_.insert(key);
    }
    entries_.emplace(key, entry);
  }
  if (!dirty_keys_.empty()) {
    log::info("cache: {} blocks written before a crash will be uploaded", dirty_keys_.size());
  }
  return Status::ok();
}

void BlockCache::start() {
  std::lock_guard lock(mu_);
  stopping_ = false;
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
    workers_.emplace_back([this] { worker_loop(); });
  }
  writeback_thread_ = std::thread([this] { writeback_loop(); });
  std::lock_guard reap_lock(reap_mu_);
  reaper_running_ = true;
  reaper_ = std::thread([this] { reaper_loop(); });
}

void BlockCache::reaper_loop() {
  std::unique_lock lock(reap_mu_);
  for (;;) {
    reap_wake_.wait(lock, [this] { return !doomed_.empty() || !reaper_running_; });
    if (doomed_.empty()) return;
    std::vector<std::string> batch;
    batch.swap(doomed_);
    reaping_ = true;
    lock.unlock();
    for (const std::string& path : batch) ::unlink(path.c_str());
    lock.lock();
    reaping_ = false;
    reaped_.notify_all();
  }
}

bool BlockCache::wait_for_reaper() {
  std::unique_lock lock(reap_mu_);
  const bool pending = !doomed_.empty() || reaping_;
  reaped_.wait(lock, [this] { return (doomed_.empty() && !reaping_) || !reaper_running_; });
  return pending;
}

void BlockCache::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  writeback_wake_.notify_all();
  tasks_changed_.notify_all();
  if (writeback_thread_.joinable()) writeback_thread_.join();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard lock(reap_mu_);
    reaper_running_ = false;  // the reaper deletes what is queued, then ends
  }
  reap_wake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

void BlockCache::enqueue(std::function<void()> task) {
  tasks_.push_back(std::move(task));
  tasks_changed_.notify_one();
}

std::shared_ptr<const std::string> BlockCache::recent_pack(const std::string& object) {
  std::lock_guard lock(packs_mu_);
  for (auto it = recent_packs_.begin(); it != recent_packs_.end(); ++it) {
    if (it->first == object) {
      recent_packs_.splice(recent_packs_.begin(), recent_packs_, it);
      return it->second;
    }
  }
  return nullptr;
}

void BlockCache::remember_pack(const std::string& object, std::shared_ptr<const std::string> plaintext) {
  constexpr uint64_t kRecentPackBytes = 16ull << 20;
  std::lock_guard lock(packs_mu_);
  recent_pack_bytes_ += plaintext->size();
  recent_packs_.emplace_front(object, std::move(plaintext));
  while (recent_pack_bytes_ > kRecentPackBytes && recent_packs_.size() > 1) {
    recent_pack_bytes_ -= recent_packs_.back().second->size();
    recent_packs_.pop_back();
  }
}

void BlockCache::worker_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    tasks_changed_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

int BlockCache::fetch_into_file(const Key& key, const std::string& path, uint64_t* size,
                                std::shared_ptr<const std::string>* plain_out, uint64_t* offset_out) {
  auto stored = catalog_.stored_block(key.first, key.second);
  if (!stored) return kAbsent;
  std::shared_ptr<const std::string> plain;
  Status s;
  // Twice at most: compaction may move the block to a new pack, and the old
  // one be deleted, between the lookup and the fetch.
  for (int attempt = 0; attempt < 2; ++attempt) {
    s = Status::ok();
    plain = recent_pack(stored->object_name);
    if (plain) break;
    thread_local std::string raw;  // reused: see LocalBackend::read()
    std::string decoded = DecodeBuffers::instance().take();
    s = backend_.get(stored->object_name, &raw);
    if (s.is_ok()) s = codec_.decode(stored->object_name, raw, &decoded);
    plain = DecodeBuffers::instance().share(std::move(decoded));
    // A pack: its other blocks are likely read next (files written together).
    if (s.is_ok() && stored->obj_length < plain->size()) remember_pack(stored->object_name, plain);
    if (!s.is_not_found()) break;
    auto moved = catalog_.stored_block(key.first, key.second);
    if (!moved || moved->object_name == stored->object_name) break;
    stored = std::move(moved);
  }
  if (s.is_ok() && stored->obj_offset + stored->obj_length > plain->size()) {
    s = Status::corruption("object " + stored->object_name + " is shorter than its block");
  }
  if (!s.is_ok()) {
    log::error("cannot read block {} of inode {} from object {}: {}", key.second, key.first,
               stored->object_name, s.to_string());
    return EIO;
  }
  std::string_view block(plain->data() + stored->obj_offset, stored->obj_length);
  // decode() authenticated the object under its name (names are never
  // reused), so a block that is the whole object is what was uploaded for
  // it; a block inside a pack is checked against its hash as well, which
  // catches a wrong offset.
  const bool whole_object = stored->obj_offset == 0 && block.size() == plain->size();
  if (block.size() != stored->size || (!whole_object && hash_block(codec_.keys(), block) != stored->hash)) {
    log::error("object {} does not hold the block recorded for inode {} block {} (hash mismatch)",
               stored->object_name, key.first, key.second);
    return EIO;
  }
  if (!path.empty()) {
    if (int err = write_file(path, 0, block, O_CREAT | O_TRUNC)) return err;
  }
  *size = block.size();
  *offset_out = stored->obj_offset;
  *plain_out = std::move(plain);
  return 0;
}

void BlockCache::keep_fresh_locked(const Key& key, Entry& entry, std::shared_ptr<const std::string> plain,
                                   uint64_t offset) {
  if (!plain) return;
  // A block inside a pack keeps the whole decoded pack alive: that counts.
  const uint64_t charge = std::max<uint64_t>(plain->size(), entry.size);
  // Room for the read-ahead window twice over: a reader that falls further
  // behind reads the oldest from their files, or fetches streamed ones again
  // (read-ahead for streams stops while the budget is full: see prefetch()).
  const uint64_t limit = fresh_limit();
  while (fresh_bytes_ + charge > limit && !fresh_order_.empty()) {
    const auto [old_key, old_id] = fresh_order_.front();
    fresh_order_.pop_front();
    auto it = entries_.find(old_key);
    if (it == entries_.end() || it->second.id != old_id) continue;
    if (it->second.streamed) {
      remove_locked(it);
    } else {
      drop_fresh_locked(it->second);
    }
  }
  entry.fresh = std::move(plain);
  entry.fresh_offset = offset;
  entry.fresh_read = 0;
  entry.fresh_charge = charge;
  fresh_bytes_ += charge;
  fresh_order_.emplace_back(key, entry.id);
  // Most records are of entries whose copy went with their reader: forget
  // those once they far outnumber what the budget can hold.
  if (fresh_order_.size() > 4 * (limit / options_.block_size) + 128) {
    std::erase_if(fresh_order_, [this](const std::pair<Key, uint64_t>& record) {
      auto it = entries_.find(record.first);
      return it == entries_.end() || it->second.id != record.second || !it->second.fresh;
    });
  }
}

void BlockCache::drop_fresh_locked(Entry& entry) {
  if (!entry.fresh) return;
  fresh_bytes_ -= entry.fresh_charge;
  entry.fresh_charge = 0;
  entry.fresh.reset();
}

int BlockCache::prepare_change_locked(const Key& key, Entry& entry) {
  if (entry.streamed) {
    // Under the lock, like acquire()'s create: no other entry owns the name.
    std::string_view data(entry.fresh->data() + entry.fresh_offset, entry.size);
    if (int err = write_file(path_of(key), 0, data, O_CREAT | O_TRUNC)) {
      ::unlink(path_of(key).c_str());
      return err;
    }
    entry.streamed = false;
    count_bytes_locked(key.first, static_cast<int64_t>(entry.size));
  }
  drop_fresh_locked(entry);  // the file (or held memory) is what the block holds from now on
  return 0;
}

int BlockCache::acquire(std::unique_lock<std::mutex>& lock, const Key& key, bool need_data, bool create,
                        Entry** out, bool may_hold, FetchFor use) {
  const bool stream = use == FetchFor::kStream && need_data && !create;
  for (;;) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.loading) {
        changed_.wait(lock);
        continue;
      }
      it->second.pins++;
      it->second.last_use = ++use_tick_;
      *out = &it->second;
      return 0;
    }
    Entry fresh;
    fresh.loading = true;
    fresh.id = fresh.generation = next_generation_++;
    const uint64_t id = fresh.id;
    entries_.emplace(key, fresh);
    lock.unlock();
    // The file is prepared under a private name and renamed into place only
    // if the entry is still this one, so a load that lost a race with
    // truncate/unlink (and a new entry for the same block) never touches the
    // new entry's file.
    const std::string staging = stream ? std::string() : path_of(key) + ".load-" + std::to_string(id);
    uint64_t size = 0;
    std::shared_ptr<const std::string> fetched;
    uint64_t fetched_offset = 0;
    int err = need_data ? fetch_into_file(key, staging, &size, &fetched, &fetched_offset) : kAbsent;
    lock.lock();
    it = entries_.find(key);
    if (it == entries_.end() || it->second.id != id) {
      if (err == 0 && !stream) ::unlink(staging.c_str());  // dropped while loading: start over
      continue;
    }
    bool held = false;
    if (err == kAbsent && create && may_hold && reserve_held_locked(kHeldEntryCost)) {
      held = true;  // no file: the writer puts the data in memory
      err = 0;
    } else if (err == kAbsent && create) {
      // Nothing to load: the empty file is made in place, under the lock, so
      // no other entry for this block can be around to own that name.
      err = write_file(path_of(key), 0, {}, O_CREAT | O_TRUNC);
    } else if (err == 0 && !stream && ::rename(staging.c_str(), path_of(key).c_str()) != 0) {
      err = errno;
    }
    if (err != 0) {
      if (err != kAbsent && !stream) ::unlink(staging.c_str());
      entries_.erase(it);
      changed_.notify_all();
      return err;
    }
    Entry& entry = it->second;
    entry.loading = false;
    entry.held = held;
    entry.size = size;
    entry.pins = 1;
    entry.last_use = ++use_tick_;
    entry.streamed = stream;
    if (use != FetchFor::kWrite) keep_fresh_locked(key, entry, std::move(fetched), fetched_offset);
    if (!stream) count_bytes_locked(key.first, static_cast<int64_t>(size));
    changed_.notify_all();
    if (cached_bytes_ > max_bytes_) evict_clean_until(max_bytes_ * 9 / 10);
    *out = &entry;
    return 0;
  }
}

// Drops the pin taken by acquire() unless the entry was dropped and replaced.
void BlockCache::release_pin(const Key& key, uint64_t id) {
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.id == id && it->second.pins > 0) it->second.pins--;
}

void BlockCache::mark_dirty_locked(const Key& key, Entry& entry) {
  entry.generation = next_generation_++;
  entry.dirtied_at = std::chrono::steady_clock::now();
  entry.closed = false;
  if (!entry.dirty) {
    entry.dirty = true;
    dirty_bytes_ += entry.size;
    dirty_keys_.insert(key);
  }
}

void BlockCache::set_size_locked(const Key& key, Entry& entry, uint64_t new_size) {
  count_bytes_locked(key.first, static_cast<int64_t>(new_size) - static_cast<int64_t>(entry.size));
  if (entry.dirty) {
    dirty_bytes_ += new_size;
    dirty_bytes_ -= entry.size;
  }
  entry.size = new_size;
}

void BlockCache::remove_locked(std::map<Key, Entry>::iterator it, bool now) {
  Entry& entry = it->second;
  drop_fresh_locked(entry);
  if (!entry.loading && !entry.streamed) {
    count_bytes_locked(it->first.first, -static_cast<int64_t>(entry.size));
    if (entry.dirty) dirty_bytes_ -= entry.size;
  }
  if (entry.held) {
    held_bytes_ -= entry.memory.size() + kHeldEntryCost;
  } else if (!entry.loading && !entry.streamed) {
    const std::string path = path_of(it->first);
    // A doomed name never parses as a block's: recover() deletes leftovers.
    std::string doomed = path + ".gone-" + std::to_string(next_doomed_++);
    std::unique_lock reap_lock(reap_mu_);
    if (!now && !low_space_ && reaper_running_ && ::rename(path.c_str(), doomed.c_str()) == 0) {
      doomed_.push_back(std::move(doomed));
      reap_lock.unlock();
      reap_wake_.notify_one();
    } else {
      reap_lock.unlock();
      ::unlink(path.c_str());
    }
  }
  dirty_keys_.erase(it->first);
  entries_.erase(it);
  changed_.notify_all();
}

int BlockCache::read(uint64_t ino, uint64_t blockno, uint32_t offset, uint32_t length, uint64_t file_blocks,
                     char* out) {
  const Key key{ino, blockno};
  std::unique_lock lock(mu_);
  // A read a little past the furthest block the inode's run reached extends
  // the run (sequential: it fetches ahead); one a little before it is a
  // read that arrived late (the kernel has several in flight, served by
  // several threads); any other starts a new run.
  constexpr uint64_t kRunSlack = 8;
  bool sequential = false;
  uint64_t run_length = 0;
  {
    auto [run, inserted] = read_runs_.try_emplace(ino);
    ReadRun& r = run->second;
    if (!inserted && blockno > r.last_block && blockno - r.last_block <= kRunSlack) {
      sequential = true;
      r.length += blockno - r.last_block;
      r.last_block = blockno;
    } else if (inserted || blockno > r.last_block || r.last_block - blockno > kRunSlack) {
      r.length = 0;
      r.last_block = blockno;
    }
    run_length = r.length;
  }
  const FetchFor use = options_.stream_after_blocks != 0 && run_length >= options_.stream_after_blocks
                           ? FetchFor::kStream
                           : FetchFor::kRead;
  Entry* entry = nullptr;
  int err = acquire(lock, key, true, false, &entry, false, use);
  if (err == kAbsent) {
    std::memset(out, 0, length);  // a hole
    err = 0;
  } else if (err == 0 && entry->held) {
    copy_range(entry->memory, offset, length, out);  // past the held data: zeros
    release_pin(key, entry->id);
  } else if (err == 0 && entry->fresh) {
    // Just fetched: copied from memory. Once reads took as many bytes as
    // the block holds, a sequential reader is done with it (its reads may
    // straddle blocks, and arrive out of order).
    std::shared_ptr<const std::string> fresh = entry->fresh;
    const uint64_t fresh_offset = entry->fresh_offset;
    const uint64_t size = entry->size;
    const uint64_t id = entry->id;
    if (offset < size) entry->fresh_read += std::min<uint64_t>(length, size - offset);
    if (entry->fresh_read >= size) {
      if (entry->streamed) {
        remove_locked(entries_.find(key));
      } else {
        drop_fresh_locked(*entry);
      }
    }
    lock.unlock();
    copy_range(std::string_view(fresh->data() + fresh_offset, size), offset, length, out);
    lock.lock();
    release_pin(key, id);
  } else if (err == 0) {
    const uint64_t id = entry->id;
    lock.unlock();
    err = read_file(path_of(key), offset, length, out);
    if (err == ENOENT) err = 0;  // dropped by a concurrent truncate
    lock.lock();
    release_pin(key, id);
  }
  if (sequential && err == 0) {
    for (uint64_t next = blockno + 1; next <= blockno + options_.readahead && next < file_blocks; ++next) {
      if (entries_.count({ino, next}) == 0) enqueue([this, ino, next, use] { prefetch({ino, next}, use); });
    }
  }
  return err;
}

void BlockCache::prefetch(const Key& key, FetchFor use) {
  std::unique_lock lock(mu_);
  if (stopping_ || entries_.count(key) != 0) return;
  // Queued behind the reader, who has reached the block by now (and, when
  // streaming, may be done with it): its own read fetches it if needed.
  auto run = read_runs_.find(key.first);
  if (run != read_runs_.end() && key.second <= run->second.last_block) return;
  // Streamed blocks live in memory only: while the budget is full (several
  // streams, or one whose reader went away) read-ahead waits for readers.
  if (use == FetchFor::kStream && fresh_bytes_ + options_.block_size > fresh_limit()) return;
  Entry* entry = nullptr;
  if (acquire(lock, key, true, false, &entry, false, use) == 0) release_pin(key, entry->id);
}

void BlockCache::wait_for_dirty_room(std::unique_lock<std::mutex>& lock) {
  // Leave room for clean blocks: writers wait while dirty data fills most of the cache.
  while (!stopping_ && dirty_bytes_ > max_bytes_ * 3 / 4) {
    flush_requested_ = true;
    writeback_wake_.notify_all();
    changed_.wait_for(lock, std::chrono::milliseconds(200));
  }
  if (flush_waiters_ == 0) flush_requested_ = false;
}

int BlockCache::write(uint64_t ino, uint64_t blockno, uint32_t offset, std::string_view data, bool past_end) {
  const Key key{ino, blockno};
  std::unique_lock lock(mu_);
  wait_for_dirty_room(lock);
  const bool whole_block = offset == 0 && data.size() == options_.block_size;
  const uint64_t end = offset + data.size();
  const bool small = is_small(end);
  Entry* entry = nullptr;
  int err = acquire(lock, key, !whole_block && !past_end, true, &entry, /*may_hold=*/small && past_end);
  if (err != 0) return err;
  if (int spilled = prepare_change_locked(key, *entry)) {
    entry->pins--;
    return spilled;
  }
  const uint64_t id = entry->id;
  // A block filled from its start by appends (a sequential writer) may go
  // as soon as it is full; one rewritten in place waits for the writeback
  // delay, or random writes would upload it again and again.
  const bool append = offset == entry->size && (!entry->dirty || entry->filled_in_order);
  if (entry->held) {
    // Written in memory, under the lock (the data is small).
    if (small && reserve_held_locked(end > entry->size ? end - entry->size : 0)) {
      entry->filled_in_order = append;
      mark_dirty_locked(key, *entry);
      if (end > entry->memory.size()) entry->memory.resize(end, '\0');
      std::memcpy(entry->memory.data() + offset, data.data(), data.size());
      if (end > entry->size) set_size_locked(key, *entry, end);
      entry->pins--;
      changed_.notify_all();
      return 0;
    }
    if (int spilled = unhold_locked(key, *entry)) {
      entry->pins--;
      return spilled;
    }
  }
  entry->filled_in_order = whole_block || append;
  entry->writers++;
  const bool was_clean = !entry->dirty;  // the block as stored (or not stored at all)
  mark_dirty_locked(key, *entry);
  const uint64_t generation = entry->generation;
  lock.unlock();
  // No O_CREAT: if a truncate dropped the entry meanwhile, the write is lost
  // to that truncate, as if it came first. No O_TRUNC for a whole block
  // either: it covers what the file holds, and a write that fails half way
  // (full cache disk) then leaves the rest of the old content in place.
  err = write_file(path_of(key), offset, data, 0);
  // Files removed before this write may still be waiting for the reaper:
  // their space is this write's too, as if they were deleted at once.
  if (err == ENOSPC && wait_for_reaper()) err = write_file(path_of(key), offset, data, 0);
  if (err == ENOENT) err = 0;
  lock.lock();
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.id == id) {
    Entry& e = it->second;
    e.writers--;
    e.pins--;
    if (err == 0) {
      if (end > e.size) set_size_locked(key, e, end);
    } else if (was_clean && e.generation == generation && e.writers == 0) {
      // Nothing but this failed write changed the block: forget what it
      // left, so the block is read as stored (a whole-block write does not
      // fetch the old content, which the entry would otherwise replace with
      // a partial write or nothing at the next upload).
      // A reader holding it meanwhile gets what a concurrent truncate leaves.
      // Deleted at once: on a full disk the caller's metadata change that
      // follows needs the space the partial write took.
      remove_locked(it, /*now=*/true);
      return err;
    } else if (end > e.size && e.writers == 0) {
      // The failed write may have lengthened the file past the entry's data:
      // cut it back, or a later write or truncate past the old end would
      // show those bytes.
      if (::truncate(path_of(key).c_str(), static_cast<off_t>(e.size)) != 0) {
        log::warning("cannot cut back cache file {} after a failed write: {}", path_of(key), std::strerror(errno));
      }
    }
    e.dirtied_at = std::chrono::steady_clock::now();
    changed_.notify_all();
  }
  return err;
}

int BlockCache::truncate(uint64_t ino, uint64_t blockno, uint32_t length) {
  const Key key{ino, blockno};
  std::unique_lock lock(mu_);
  Entry* entry = nullptr;
  int err = acquire(lock, key, true, false, &entry);
  if (err == kAbsent) return 0;  // a hole stays a hole
  if (err != 0) return err;
  if (int spilled = prepare_change_locked(key, *entry)) {
    entry->pins--;
    return spilled;
  }
  if (entry->held && length <= entry->memory.size()) {
    mark_dirty_locked(key, *entry);
    held_bytes_ -= entry->memory.size() - length;
    entry->memory.resize(length);
    set_size_locked(key, *entry, length);
    entry->pins--;
    changed_.notify_all();
    return 0;
  }
  if (entry->held) {
    if (int spilled = unhold_locked(key, *entry)) {
      entry->pins--;
      return spilled;
    }
  }
  const uint64_t id = entry->id;
  entry->writers++;
  mark_dirty_locked(key, *entry);
  lock.unlock();
  err = ::truncate(path_of(key).c_str(), length) == 0 ? 0 : errno;
  if (err == ENOENT) err = 0;
  lock.lock();
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.id == id) {
    it->second.writers--;
    it->second.pins--;
    set_size_locked(it->first, it->second, length);
    changed_.notify_all();
  }
  return err;
}

bool BlockCache::drop(uint64_t ino, uint64_t first_blockno) {
  std::lock_guard lock(mu_);
  bool dirty = false;
  auto it = entries_.lower_bound({ino, first_blockno});
  while (it != entries_.end() && it->first.first == ino) {
    auto next = std::next(it);
    dirty = dirty || it->second.dirty;
    remove_locked(it);
    it = next;
  }
  if (first_blockno == 0) read_runs_.erase(ino);
  return dirty;
}

void BlockCache::forget(uint64_t ino, uint64_t blockno) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({ino, blockno});
  if (it != entries_.end()) remove_locked(it);
}

bool BlockCache::would_wait(uint64_t ino, uint64_t blockno, uint32_t offset, uint32_t length, bool check_pages) {
  const Key key{ino, blockno};
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return true;
    const Entry& entry = it->second;
    // Being loaded: the read waits for a fetch already under way, which the
    // read-ahead workers started ahead of the reader.
    if (!check_pages || entry.loading || entry.held || entry.fresh || offset >= entry.size) return false;
    length = static_cast<uint32_t>(std::min<uint64_t>(length, entry.size - offset));
  }
  return !pages_cached(path_of(key), offset, length);
}

uint64_t BlockCache::inode_bytes(uint64_t ino) {
  std::lock_guard lock(bytes_mu_);
  auto it = inode_bytes_.find(ino);
  return it == inode_bytes_.end() ? 0 : it->second;
}

void BlockCache::file_closed(uint64_t ino) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.lower_bound({ino, 0}); it != entries_.end() && it->first.first == ino; ++it) {
    if (it->second.dirty) it->second.closed = true;
  }
}

bool BlockCache::reserve_held_locked(uint64_t more) {
  while (held_bytes_ + more > held_limit_ && !held_clean_.empty()) {
    const auto [key, id] = held_clean_.front();
    held_clean_.pop_front();
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.id != id) continue;
    const Entry& e = it->second;
    if (e.held && !e.dirty && !e.uploading && e.pins == 0 && e.writers == 0) remove_locked(it);  // in the backend
  }
  if (held_bytes_ + more > held_limit_) return false;
  held_bytes_ += more;
  return true;
}

int BlockCache::unhold_locked(const Key& key, Entry& entry) {
  // Under the lock, like acquire()'s create: no other entry owns the name.
  if (int err = write_file(path_of(key), 0, entry.memory, O_CREAT | O_TRUNC)) {
    ::unlink(path_of(key).c_str());
    return err;
  }
  held_bytes_ -= entry.memory.size() + kHeldEntryCost;
  std::string().swap(entry.memory);
  entry.held = false;
  return 0;
}

void BlockCache::count_bytes_locked(uint64_t ino, int64_t delta) {
  cached_bytes_ += static_cast<uint64_t>(delta);
  if (delta == 0) return;
  std::lock_guard lock(bytes_mu_);
  uint64_t& bytes = inode_bytes_[ino];
  bytes += static_cast<uint64_t>(delta);
  if (bytes == 0) inode_bytes_.erase(ino);
}

int BlockCache::sync_inode(uint64_t ino) {
  std::vector<std::string> paths;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.lower_bound({ino, 0}); it != entries_.end() && it->first.first == ino; ++it) {
      if (!it->second.dirty || it->second.loading) continue;
      // fsync'd data must survive a crash: a held block gets its file now.
      if (it->second.held) {
        if (int err = unhold_locked(it->first, it->second)) return err;
      }
      paths.push_back(path_of(it->first));
    }
  }
  paths.push_back(blocks_dir_);  // new cache files must be findable after a crash
  for (const auto& path : paths) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return errno;
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return err;
  }
  return 0;
}

Status BlockCache::flush_inode(uint64_t ino) {
  std::unique_lock lock(mu_);
  flush_waiters_++;
  flush_requested_ = true;
  writeback_wake_.notify_all();
  const uint64_t failures_before = upload_failures_;
  auto has_dirty = [&] {
    for (auto it = entries_.lower_bound({ino, 0}); it != entries_.end() && it->first.first == ino; ++it) {
      if (it->second.dirty) return true;
    }
    return false;
  };
  Status result;
  while (has_dirty()) {
    if (upload_failures_ != failures_before) {
      result = last_upload_error_;
      break;
    }
    changed_.wait(lock);
  }
  if (--flush_waiters_ == 0) flush_requested_ = false;
  return result;
}

Status BlockCache::flush_all() {
  std::unique_lock lock(mu_);
  flush_waiters_++;
  flush_requested_ = true;
  Status result;
  // An upload that fails is tried again at once (it may have started before
  // the backend recovered); three failed rounds end the flush with an error.
  for (int round = 0; round < 3 && !dirty_keys_.empty(); ++round) {
    for (const Key& key : dirty_keys_) entries_.find(key)->second.retry_after = {};
    writeback_wake_.notify_all();
    const uint64_t failures_before = upload_failures_;
    while (!dirty_keys_.empty() && upload_failures_ == failures_before) changed_.wait(lock);
    result = dirty_keys_.empty() ? Status::ok() : last_upload_error_;
  }
  if (--flush_waiters_ == 0) flush_requested_ = false;
  return result;
}

void BlockCache::set_max_bytes(uint64_t bytes) {
  std::lock_guard lock(mu_);
  max_bytes_ = bytes;
  held_limit_ = held_limit_for(bytes);
  evict_clean_until(bytes);
  changed_.notify_all();
}

void BlockCache::evict_clean_until(uint64_t target_bytes) {
  if (cached_bytes_ <= target_bytes) return;
  std::vector<std::pair<uint64_t, Key>> candidates;
  for (const auto& [key, e] : entries_) {
    // Streamed entries have no file: removing one frees nothing here.
    if (!e.dirty && !e.loading && !e.uploading && e.pins == 0 && e.writers == 0 && !e.streamed) {
      candidates.push_back({e.last_use, key});
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& [tick, key] : candidates) {
    if (cached_bytes_ <= target_bytes) break;
    remove_locked(entries_.find(key));
  }
}

void BlockCache::writeback_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Woken by flush requests and stop; otherwise it looks ten times a second.
    writeback_wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    const bool pressure = dirty_bytes_ > max_bytes_ / 2;
    // While held blocks fill more than half their budget (a copy of many
    // small files), those of closed files go early to make room.
    const bool hurry_closed = held_bytes_ > held_limit_ / 2;
    std::vector<Key> small;
    for (const Key& key : dirty_keys_) {
      Entry& e = entries_.find(key)->second;
      if (!e.dirty || e.uploading || e.loading || e.writers > 0 || now < e.retry_after) continue;
      // A block a sequential writer filled is done with: it goes after a
      // short pause, so that compressing and uploading overlap with the
      // writing. Others wait for the whole delay.
      // Blocks of a closed file are likely complete too: they may go after
      // a tenth of the delay.
      const auto delay = e.size == options_.block_size && e.filled_in_order
                             ? std::min(options_.writeback_delay, std::chrono::milliseconds(100))
                         : e.closed && hurry_closed ? options_.writeback_delay / 10
                                                    : options_.writeback_delay;
      if (!flush_requested_ && !pressure && now - e.dirtied_at < delay) continue;
      e.uploading = true;
      if (options_.pack_small_blocks && is_small(e.size)) {
        small.push_back(key);
      } else {
        enqueue([this, k = key] { upload({k}); });
      }
    }
    // Packs of at most block_size bytes and 256 blocks.
    for (size_t first = 0; first < small.size();) {
      uint64_t bytes = 0;
      size_t end = first;
      while (end < small.size() && end - first < 256) {
        const uint64_t size = entries_.find(small[end])->second.size;
        if (end > first && bytes + size > options_.block_size) break;
        bytes += size;
        ++end;
      }
      std::vector<Key> pack(small.begin() + static_cast<std::ptrdiff_t>(first),
                            small.begin() + static_cast<std::ptrdiff_t>(end));
      enqueue([this, pack = std::move(pack)] { upload(pack); });
      first = end;
    }
    if (cached_bytes_ > max_bytes_) evict_clean_until(max_bytes_ * 9 / 10);
  }
}

void BlockCache::finish_upload_locked(const Key& key, uint64_t id, bool failed, const Status& error) {
  auto cur = entries_.find(key);
  if (cur != entries_.end() && cur->second.id == id) {
    cur->second.uploading = false;
    if (failed) {
      // Back off (1 s doubling to 32 s) so a refusing backend is not hammered.
      unsigned shift = std::min(cur->second.failed_uploads++, 5u);
      cur->second.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(1u << shift);
    } else {
      cur->second.failed_uploads = 0;
    }
  }
  if (failed) {
    last_upload_error_ = error;
    upload_failures_++;
  }
  changed_.notify_all();
  // A flush waits: what is still dirty (written meanwhile) goes again at once.
  if (flush_requested_) writeback_wake_.notify_all();
}

void BlockCache::drop_if_unchanged_locked(const Key& key, uint64_t id, uint64_t generation) {
  auto cur = entries_.find(key);
  if (cur == entries_.end() || cur->second.id != id) return;
  const Entry& e = cur->second;
  // Not written since, and nobody about to: the entry is junk past the end
  // of its file (or of a file that is gone), which reads as zeros anyway.
  if (e.generation == generation && e.pins == 0 && e.writers == 0) remove_locked(cur);
}

void BlockCache::mark_clean_locked(const Key& key, uint64_t id, uint64_t generation) {
  auto cur = entries_.find(key);
  if (cur != entries_.end() && cur->second.id == id && cur->second.generation == generation && cur->second.dirty) {
    cur->second.dirty = false;
    dirty_bytes_ -= cur->second.size;
    dirty_keys_.erase(key);
    if (cur->second.held) {
      // Kept for reads until newer held blocks need the room.
      held_clean_.emplace_back(key, id);
      if (held_clean_.size() > held_limit_ / kHeldEntryCost + 128) {
        // More than there can be held blocks: most were removed meanwhile
        // (deleted files); forget those.
        std::deque<std::pair<Key, uint64_t>> kept;
        for (const auto& [k, held_id] : held_clean_) {
          auto e = entries_.find(k);
          if (e != entries_.end() && e->second.id == held_id && e->second.held) kept.emplace_back(k, held_id);
        }
        held_clean_.swap(kept);
      }
    }
  }
}

// Uploads dirty blocks: each new distinct one once, together in one new
// object (one block alone, or a pack of small ones), then records them all
// in one transaction. A block already stored (dedup) costs no bytes. A
// member that cannot go now (written meanwhile, its block being uploaded by
// another worker, freed meanwhile) stays dirty and goes at the next
// write-back pass.
void BlockCache::upload(const std::vector<Key>& keys) {
  struct Member {
    Key key;
    uint64_t id = 0, generation = 0, size = 0;
    std::string data;
    bool active = true;
    bool held = false;  // data copied from memory, not read from a file
  };
  std::vector<Member> members;
  std::unique_lock lock(mu_);
  for (const Key& key : keys) {
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    if (stopping_ || !it->second.dirty || it->second.writers > 0) {
      finish_upload_locked(key, it->second.id, false, {});
      continue;
    }
    members.push_back({key, it->second.id, it->second.generation, it->second.size, {}, true, it->second.held});
    if (it->second.held) members.back().data = it->second.memory;
  }
  lock.unlock();
  std::vector<int> read_errors(members.size(), 0);
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].held) continue;
    read_errors[i] = read_file(path_of(members[i].key), 0, members[i].size, &members[i].data);
  }
  lock.lock();
  for (size_t i = 0; i < members.size(); ++i) {
    Member& m = members[i];
    auto it = entries_.find(m.key);
    if (it == entries_.end() || it->second.id != m.id) {
      m.active = false;
    } else if (read_errors[i] != 0) {
      m.active = false;
      finish_upload_locked(m.key, m.id, true,
                           Status::from_errno(read_errors[i], "reading cache file " + path_of(m.key)));
    } else if (it->second.generation != m.generation || it->second.writers > 0) {
      m.active = false;
      finish_upload_locked(m.key, m.id, false, {});
    }
  }
  lock.unlock();

  std::vector<BlockCommit> commits;
  std::vector<size_t> member_of;  // commits[i] belongs to members[member_of[i]]
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].active) continue;
    BlockCommit c;
    c.ino = members[i].key.first;
    c.blockno = members[i].key.second;
    c.size = members[i].data.size();
    c.hole = all_zero(members[i].data);
    if (!c.hole) c.hash = hash_block(codec_.keys(), members[i].data);
    commits.push_back(c);
    member_of.push_back(i);
  }
  // A block another worker is uploading right now: a lone one waits for it
  // and then finds it stored (it holds no claim another worker could wait
  // for); a pack member goes again a little later, without a busy loop of
  // re-reading and re-hashing it while the other upload lasts.
  std::vector<BlockHash> claimed;
  lock.lock();
  for (size_t i = 0; i < commits.size(); ++i) {
    if (commits[i].hole) continue;
    if (commits.size() == 1) {
      changed_.wait(lock, [&] { return stopping_ || hashes_in_flight_.count(commits[i].hash) == 0; });
    }
    if (hashes_in_flight_.count(commits[i].hash) != 0 &&
        std::find(claimed.begin(), claimed.end(), commits[i].hash) == claimed.end()) {
      Member& m = members[member_of[i]];
      m.active = false;
      finish_upload_locked(m.key, m.id, false, {});
      if (auto cur = entries_.find(m.key); cur != entries_.end() && cur->second.id == m.id) {
        cur->second.retry_after = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
      }
      continue;
    }
    if (hashes_in_flight_.insert(commits[i].hash).second) claimed.push_back(commits[i].hash);
  }
  lock.unlock();
  {
    std::vector<BlockCommit> kept;
    std::vector<size_t> kept_member;
    for (size_t i = 0; i < commits.size(); ++i) {
      if (!members[member_of[i]].active) continue;
      kept.push_back(commits[i]);
      kept_member.push_back(member_of[i]);
    }
    commits.swap(kept);
    member_of.swap(kept_member);
  }

  // The pack: each new distinct block once, back to back.
  std::string plaintext;
  std::map<BlockHash, uint64_t> offset_of;
  const std::string object = object_names::new_data_object();
  std::vector<BlockHash> hashes;
  for (const BlockCommit& c : commits) hashes.push_back(c.hash);
  const std::vector<bool> stored = catalog_.has_blocks(hashes);
  for (size_t i = 0; i < commits.size(); ++i) {
    BlockCommit& c = commits[i];
    if (c.hole) continue;
    auto known = offset_of.find(c.hash);
    if (known == offset_of.end()) {
      if (stored[i]) continue;  // a dedup hit: no bytes needed
      known = offset_of.emplace(c.hash, plaintext.size()).first;
      std::string& data = members[member_of[i]].data;  // not needed after this
      if (plaintext.empty()) {
        plaintext = std::move(data);  // a lone block: no copy
      } else {
        plaintext += data;
      }
    }
    c.new_object = object;
    c.obj_offset = known->second;
  }
  Status upload_error;
  bool object_used = false;
  std::vector<CommitOutcome> outcomes;
  if (!plaintext.empty()) {
    std::string stored = codec_.encode(object, plaintext);
    for (BlockCommit& c : commits) {
      if (c.new_object.empty()) continue;
      c.new_object_stored_size = stored.size();
      c.new_object_plain_size = plaintext.size();
    }
    upload_error = backend_.put(object, stored);
    if (!upload_error.is_ok()) {
      log::error("upload of {} block(s) failed: {}", offset_of.size(), upload_error.to_string());
      catalog_.backend_write_failed(upload_error);
    }
  }
  if (upload_error.is_ok() && !commits.empty()) {
    auto still_cached = [&] {
      std::vector<bool> cached(commits.size(), false);
      std::lock_guard guard(mu_);
      for (size_t i = 0; i < commits.size(); ++i) {
        const Member& m = members[member_of[i]];
        auto cur = entries_.find(m.key);
        cached[i] = cur != entries_.end() && cur->second.id == m.id;
      }
      return cached;
    };
    auto committed = [&](const std::vector<size_t>& recorded) {
      std::lock_guard guard(mu_);
      for (size_t i : recorded) {
        const Member& m = members[member_of[i]];
        mark_clean_locked(m.key, m.id, m.generation);
      }
    };
    try {
      outcomes = catalog_.commit_blocks(commits, still_cached, committed, &object_used);
      // kNeedsUpload (freed meanwhile) members stay dirty for the next pass.
      if (!plaintext.empty() && !object_used) backend_.remove({object});  // referenced by nothing
    } catch (const std::exception& e) {
      // The database refused (a full disk, damage): the members stay dirty
      // and go again. The object stays too, as a batch that failed to
      // commit may still record it.
      upload_error = Status::io_error(std::string("recording uploaded blocks: ") + e.what());
      log::error("{}", upload_error.to_string());
      outcomes.clear();
    }
  }
  lock.lock();
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const Member& m = members[member_of[i]];
    if (outcomes[i] == CommitOutcome::kDropped) drop_if_unchanged_locked(m.key, m.id, m.generation);
  }
  for (const BlockHash& hash : claimed) hashes_in_flight_.erase(hash);
  for (size_t i = 0; i < commits.size(); ++i) {
    const Member& m = members[member_of[i]];
    finish_upload_locked(m.key, m.id, !upload_error.is_ok(), upload_error);
  }
}

}  // namespace hoardfs
