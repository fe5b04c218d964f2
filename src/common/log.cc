#include "hoardfs/log.h"

#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace hoardfs::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::atomic<bool> g_syslog{false};
std::mutex g_stderr_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

bool parse_level(const std::string& text, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarning, Level::kError}) {
    if (text == level_name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void use_syslog(const char* ident) {
  openlog(ident, LOG_PID, LOG_DAEMON);
  g_syslog = true;
}

void write(Level level, const std::string& line) {
  if (level < g_level) return;
  if (g_syslog) {
    static const int priorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(priorities[static_cast<int>(level)], "%s", line.c_str());
    return;
  }
  std::lock_guard lock(g_stderr_mutex);
  std::fprintf(stderr, "hoardfs %s: %s\n", level_name(level), line.c_str());
}

}  // namespace hoardfs::log
