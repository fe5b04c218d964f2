// The single-writer lock: the object hoardfs.lock in the backend, created
// with put_if_absent() (atomic on every backend: exclusive create locally,
// If-None-Match: * on S3 and Swift), holding who mounted (see doc/format.md):
//
//   {"host": "...", "pid": 123, "cache_dir": "/root/.cache/hoardfs/...",
//    "token": "<32 hex, random per mount>", "since": <unix seconds>,
//    "heartbeat": <unix seconds>, "sequence": <n>}
//
// A mount rewrites it every kHeartbeatInterval with the time and the next
// sequence number, after checking that it still holds its token.
//
// Servers that ignore If-None-Match (Swift's s3api, s3rver: put_if_absent()
// answers unsupported) get a lease instead: the lock is written only when a
// read finds none, and read back after kLeaseSettle; a rival that raced finds
// the other's token there and backs off.
//
// A mount takes it and deletes it after its final upload; a second mount
// from any host or cache folder finds it and is refused ("mounted
// elsewhere"). The same host and cache folder may take over a lock left by a
// crash: the cache folder's flock() proves its former holder is gone, and its
// dirty blocks are exactly what recovery uploads. A lock from a crashed
// process on this host (pid not running) or on another host is broken only
// by fsck.hoardfs (the latter with --break-lock, or without it once the
// lock's heartbeat is older than kStaleAfter: that mount has not been alive
// for that long).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs {

struct LockHolder {
  std::string host;
  int64_t pid = 0;
  std::string cache_dir;
  std::string token;
  int64_t since_unix = 0;
  int64_t heartbeat_unix = 0;  // last sign of life (since_unix in locks written without one)
  uint64_t sequence = 0;       // +1 per heartbeat

  std::string to_json() const;
  static Result<LockHolder> from_json(const std::string& text);
  // "host H, pid P, cache C, since <time>"
  std::string describe() const;
};

// Who this process is, for a lock taken with `cache_dir`.
LockHolder this_holder(const std::string& cache_dir);

enum class StaleLockPolicy {
  kRefuse,         // mount: only our own cache folder's lock is taken over
  kBreakIfDead,    // fsck: also a lock of a dead process on this host
  kBreakAlways,    // fsck --break-lock: any lock (the user vouches the holder is gone)
};

inline constexpr std::chrono::milliseconds kLeaseSettle{1500};
inline constexpr std::chrono::seconds kHeartbeatInterval{60};
inline constexpr std::chrono::seconds kStaleAfter{15 * 60};

class MountLock {
 public:
  explicit MountLock(Backend& backend) : backend_(backend) {}

  // Takes the lock for `me`. already_exists (→ "mounted elsewhere") names the
  // holder and what to do; *broken (optional) describes a lock that was
  // broken or taken over, empty otherwise.
  Status acquire(const LockHolder& me, StaleLockPolicy policy, std::string* broken = nullptr);
  // ok() while the lock object still carries our token; permission_denied
  // naming the new holder when another mount broke it.
  Status verify() const;
  // Rewrites the lock with a new heartbeat time and sequence number if it is
  // still ours (verify()'s errors otherwise).
  Status heartbeat();
  // Deletes the lock if it is still ours.
  Status release();
  bool held() const {
    std::lock_guard lock(mu_);
    return held_;
  }

 private:
  Status create_lease(const std::string& name);
  Status verify_locked() const;

  Backend& backend_;
  mutable std::mutex mu_;  // the methods may run on several threads (heartbeat, uploads)
  LockHolder me_;
  bool held_ = false;
};

}  // namespace hoardfs
