#include "tools/control.h"

#include <sys/xattr.h>

#include <fmt/core.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tools/progress.h"

namespace hoardfs::tools {
namespace {

ToolError xattr_error(const std::string& mountpoint, const char* name, int err) {
  switch (err) {
    case ENODATA:
    case ENOTSUP:
      return {exit_code::kUsage,
              fmt::format("{} is not the root of a hoardfs mount (no {} attribute)", mountpoint, name)};
    case ENOTCONN:
      return {exit_code::kError,
              fmt::format("{}: the hoardfs daemon is gone (transport endpoint is not connected); "
                          "clean up with 'fusermount3 -u {}'",
                          mountpoint, mountpoint)};
    case EACCES:
    case EPERM:
      return {exit_code::kError,
              fmt::format("{}: permission denied (only the user who mounted it, or root, may control "
                          "a hoardfs mount)",
                          mountpoint)};
    case ENOENT:
      return {exit_code::kUsage, fmt::format("{}: no such file or directory", mountpoint)};
    default:
      return {exit_code::kError, fmt::format("{}: {}: {}", mountpoint, name, std::strerror(err))};
  }
}

const std::pair<const char*, uint64_t FsStats::*> kStatsFields[] = {
    {"entries", &FsStats::entries},
    {"inodes", &FsStats::inodes},
    {"blocks", &FsStats::blocks},
    {"data_bytes", &FsStats::data_bytes},
    {"dedup_bytes", &FsStats::dedup_bytes},
    {"compressed_bytes", &FsStats::compressed_bytes},
    {"metadata_bytes", &FsStats::metadata_bytes},
    {"cache_bytes", &FsStats::cache_bytes},
    {"dirty_bytes", &FsStats::dirty_bytes},
    {"cache_limit_bytes", &FsStats::cache_limit_bytes},
    {"metadata_version", &FsStats::metadata_version},
};

}  // namespace

bool get_control_xattr(const std::string& mountpoint, const char* name, std::string* value,
                       ToolError* error) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t size = ::getxattr(mountpoint.c_str(), name, nullptr, 0);
    if (size < 0) {
      *error = xattr_error(mountpoint, name, errno);
      return false;
    }
    value->assign(static_cast<size_t>(size) + 256, '\0');  // room to grow between the calls
    ssize_t got = ::getxattr(mountpoint.c_str(), name, value->data(), value->size());
    if (got >= 0) {
      value->resize(static_cast<size_t>(got));
      return true;
    }
    if (errno != ERANGE) {
      *error = xattr_error(mountpoint, name, errno);
      return false;
    }
  }
  *error = {exit_code::kError, fmt::format("{}: {} keeps changing size", mountpoint, name)};
  return false;
}

bool set_control_xattr(const std::string& mountpoint, const char* name, const std::string& value,
                       ToolError* error) {
  if (::setxattr(mountpoint.c_str(), name, value.data(), value.size(), 0) != 0) {
    int err = errno;
    if (err == EINVAL) {
      *error = {exit_code::kError, fmt::format("{}: the mount rejected the command '{}'", mountpoint, value)};
    } else if (err == ENOTCONN || err == EACCES || err == EPERM || err == ENOTSUP) {
      *error = xattr_error(mountpoint, name, err);
    } else {
      *error = {exit_code::kError, fmt::format("{}: '{}' failed: {} (the daemon's log says more)",
                                               mountpoint, value, std::strerror(err))};
    }
    return false;
  }
  return true;
}

bool read_daemon_pid(const std::string& mountpoint, pid_t* pid, ToolError* error) {
  std::string text;
  if (!get_control_xattr(mountpoint, kCtrlPidXattr, &text, error)) return false;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    *error = {exit_code::kError, fmt::format("{}: unexpected daemon pid '{}'", mountpoint, text)};
    return false;
  }
  *pid = static_cast<pid_t>(value);
  return true;
}

bool parse_stats_json(const std::string& json, FsStats* stats, std::string* problem) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    *problem = "the statistics are not a JSON object";
    return false;
  }
  *stats = FsStats{};
  for (const auto& [key, field] : kStatsFields) {
    auto it = parsed.find(key);
    if (it == parsed.end()) continue;
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      *problem = fmt::format("statistics key '{}' is not a non-negative integer", key);
      return false;
    }
    stats->*field = it->get<uint64_t>();
  }
  return true;
}

std::string stats_to_json(const FsStats& stats) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, field] : kStatsFields) out[key] = stats.*field;
  return out.dump();
}

bool read_stats(const std::string& mountpoint, FsStats* stats, ToolError* error) {
  std::string json;
  if (!get_control_xattr(mountpoint, kCtrlStatXattr, &json, error)) return false;
  std::string problem;
  if (!parse_stats_json(json, stats, &problem)) {
    *error = {exit_code::kError, fmt::format("{}: {}", mountpoint, problem)};
    return false;
  }
  return true;
}

bool run_control_command(const std::string& mountpoint, const std::string& command,
                         bool show_progress, ToolError* error) {
  // Never write the command attribute to a directory that is not a hoardfs
  // mount root (most filesystems would simply store it).
  pid_t pid = 0;
  if (!read_daemon_pid(mountpoint, &pid, error)) return false;
  // A command may change entries behind the kernel's back (hoardfs rm, cp):
  // return only once the kernel has been told, so the caller sees the change.
  auto settle = [&] {
    char settled[8];
    ::getxattr(mountpoint.c_str(), kCtrlSettledXattr, settled, sizeof settled);
  };
  ProgressLine line(show_progress);
  if (!line.active()) {
    if (!set_control_xattr(mountpoint, kCtrlCommandXattr, command, error)) return false;
    settle();
    return true;
  }

  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  std::thread poller([&] {
    DrainEstimator estimator;
    auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    while (!done) {
      lock.unlock();
      FsStats stats;
      ToolError ignored;
      if (read_stats(mountpoint, &stats, &ignored)) {
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        estimator.add_sample(elapsed, stats.dirty_bytes);
        line.update(drain_progress_text("Uploading", estimator));
      }
      lock.lock();
      done_changed.wait_for(lock, std::chrono::milliseconds(500), [&] { return done; });
    }
  });
  bool ok = set_control_xattr(mountpoint, kCtrlCommandXattr, command, error);
  if (ok) settle();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_changed.notify_all();
  poller.join();
  line.finish(ok ? "Uploading: done" : "");
  return ok;
}

}  // namespace hoardfs::tools
