// Logging: one line per event, to stderr in the foreground and to syslog
// (journald) once the daemon has detached. Secrets are never logged.
#pragma once

#include <fmt/core.h>

#include <string>

namespace hoardfs::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void set_level(Level level);
Level level();
// Parses "debug" | "info" | "warning" | "error".
bool parse_level(const std::string& text, Level* out);
// Switches output to syslog with the given identity (after daemonizing).
void use_syslog(const char* ident);
void write(Level level, const std::string& line);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kWarning) write(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace hoardfs::log
