#include "hoardfs/mount_lock.h"

#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "hoardfs/log.h"
#include "hoardfs/object_names.h"

namespace hoardfs {

namespace {

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown-host";
  return name;
}

// Not running: no such process, or one that has died and waits to be reaped
// (a zombie holds nothing).
bool process_is_gone(int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return false;
  size_t paren = line.rfind(')');  // the command name may hold spaces and parentheses
  return paren != std::string::npos && paren + 2 < line.size() && (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

std::string format_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

}  // namespace

std::string LockHolder::to_json() const {
  nlohmann::json j = {{"host", host},         {"pid", pid},   {"cache_dir", cache_dir},
                      {"token", token},       {"since", since_unix}, {"heartbeat", heartbeat_unix},
                      {"sequence", sequence}};
  return j.dump();
}

Result<LockHolder> LockHolder::from_json(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    LockHolder h;
    h.host = j.at("host").get<std::string>();
    h.pid = j.at("pid").get<int64_t>();
    h.cache_dir = j.at("cache_dir").get<std::string>();
    h.token = j.at("token").get<std::string>();
    h.since_unix = j.at("since").get<int64_t>();
    h.heartbeat_unix = j.value("heartbeat", h.since_unix);
    h.sequence = j.value("sequence", uint64_t{0});
    return h;
  } catch (const std::exception& e) {
    return Status::corruption(std::string("unreadable lock object ") + object_names::lock() + ": " + e.what());
  }
}

std::string LockHolder::describe() const {
  return fmt::format("host {}, pid {}, cache {}, since {}, last heartbeat {}", host, pid, cache_dir,
                     format_time(since_unix), format_time(heartbeat_unix));
}

LockHolder this_holder(const std::string& cache_dir) {
  LockHolder h;
  h.host = host_name();
  h.pid = ::getpid();
  h.cache_dir = cache_dir;
  h.token = object_names::random_hex(16);
  h.since_unix = static_cast<int64_t>(std::time(nullptr));
  h.heartbeat_unix = h.since_unix;
  return h;
}

Status MountLock::acquire(const LockHolder& me, StaleLockPolicy policy, std::string* broken) {
  std::lock_guard lock(mu_);
  if (broken) broken->clear();
  me_ = me;
  const std::string name = object_names::lock();
  for (int attempt = 0; attempt < 3; ++attempt) {
    Status put = backend_.put_if_absent(name, me_.to_json());
    if (put.code() == Status::Code::kUnsupported) put = create_lease(name);
    if (put.is_ok()) {
      held_ = true;
      return Status::ok();
    }
    if (put.code() != Status::Code::kAlreadyExists) return put.with_context("taking the lock " + name);

    std::string text;
    Status got = backend_.get(name, &text);
    if (got.is_not_found()) continue;  // released in between: try again
    HOARDFS_RETURN_IF_ERROR(got.with_context("reading the lock " + name));
    auto holder = LockHolder::from_json(text);
    if (holder && holder->token == me_.token) {  // our own create, whose answer was lost
      held_ = true;
      return Status::ok();
    }
    std::string why;
    if (!holder) {
      why = holder.status().to_string();
    } else if (holder->host == me_.host && holder->cache_dir == me_.cache_dir) {
      why = fmt::format("taking over the lock of the mount that used this cache folder and ended without "
                        "unmounting ({})", holder->describe());
    } else if (policy == StaleLockPolicy::kBreakAlways) {
      why = fmt::format("breaking the lock of {} as asked (--break-lock)", holder->describe());
    } else if (policy == StaleLockPolicy::kBreakIfDead && holder->host == me_.host && process_is_gone(holder->pid)) {
      why = fmt::format("breaking a stale lock: {} no longer runs on this host", holder->describe());
    } else if (policy == StaleLockPolicy::kBreakIfDead && holder->host != me_.host &&
               std::time(nullptr) - holder->heartbeat_unix > kStaleAfter.count()) {
      why = fmt::format("breaking a stale lock: {} has shown no heartbeat for {} minutes", holder->describe(),
                        (std::time(nullptr) - holder->heartbeat_unix) / 60);
    } else {
      std::string hint =
          holder->host == me_.host
              ? (process_is_gone(holder->pid) ? "that process has ended: run fsck.hoardfs to break its lock"
                                              : "unmount it first")
              : fmt::format("if that host crashed or that mount is gone for good, run fsck.hoardfs --break-lock; "
                            "fsck.hoardfs breaks it by itself once its heartbeat is {} minutes old",
                            kStaleAfter.count() / 60);
      return Status::already_exists(fmt::format("locked by {} ({})", holder->describe(), hint));
    }
    // A lock we may take over: replace it. Overwriting (rather than delete
    // + create) keeps another contender from slipping in between.
    log::warning("{}", why);
    if (broken) *broken = why;
    HOARDFS_RETURN_IF_ERROR(backend_.put(name, me_.to_json()).with_context("replacing the lock " + name));
    held_ = true;
    return Status::ok();
  }
  return Status::already_exists("the lock " + name + " keeps changing: another mount is starting");
}

// For servers without conditional PUT: create the lock only if a read finds
// none, then read it back after a pause long enough for a rival's write that
// raced ours to land; whoever's token is there holds the lock. already_exists
// when someone else's is.
Status MountLock::create_lease(const std::string& name) {
  std::string text;
  Status got = backend_.get(name, &text);
  if (got.is_ok()) return Status::already_exists(name + " exists");
  if (!got.is_not_found()) return got;
  HOARDFS_RETURN_IF_ERROR(backend_.put(name, me_.to_json()));
  std::this_thread::sleep_for(kLeaseSettle);
  HOARDFS_RETURN_IF_ERROR(backend_.get(name, &text));
  auto holder = LockHolder::from_json(text);
  if (holder && holder->token == me_.token) return Status::ok();
  return Status::already_exists(name + " was taken by another mount at the same moment");
}

Status MountLock::verify() const {
  std::lock_guard lock(mu_);
  return verify_locked();
}

Status MountLock::verify_locked() const {
  if (!held_) return Status::ok();
  std::string text;
  Status got = backend_.get(object_names::lock(), &text);
  if (got.is_not_found()) {
    return Status::permission_denied("the lock " + object_names::lock() + " of this mount was removed (by fsck?)");
  }
  HOARDFS_RETURN_IF_ERROR(got);
  auto holder = LockHolder::from_json(text);
  if (!holder) return holder.status();
  if (holder->token != me_.token) {
    return Status::permission_denied("the lock of this mount was broken; the filesystem is now held by " +
                                     holder->describe());
  }
  return Status::ok();
}

Status MountLock::heartbeat() {
  std::lock_guard lock(mu_);
  if (!held_) return Status::ok();
  HOARDFS_RETURN_IF_ERROR(verify_locked());
  me_.heartbeat_unix = static_cast<int64_t>(std::time(nullptr));
  me_.sequence++;
  return backend_.put(object_names::lock(), me_.to_json()).with_context("renewing the lock");
}

Status MountLock::release() {
  std::lock_guard lock(mu_);
  if (!held_) return Status::ok();
  Status still_ours = verify_locked();
  held_ = false;
  if (!still_ours.is_ok()) return still_ours;
  return backend_.remove({object_names::lock()});
}

}  // namespace hoardfs
