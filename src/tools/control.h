// Talking to a running mount through the control xattrs on its root
// directory (names in filesystem.h): user.hoardfs.pid, user.hoardfs.stat
// (FsStats as JSON) and user.hoardfs.ctrl (commands).
#pragma once

#include <sys/types.h>

#include <string>

#include "hoardfs/filesystem.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {

// Reads an xattr of any size. On failure the ToolError explains the usual
// cases in one line: not a hoardfs mount point (exit 2), daemon gone
// (ENOTCONN, exit 1), permission denied (exit 1).
bool get_control_xattr(const std::string& mountpoint, const char* name, std::string* value,
                       ToolError* error);
// Sets an xattr without any check; use run_control_command() for commands.
bool set_control_xattr(const std::string& mountpoint, const char* name, const std::string& value,
                       ToolError* error);

// The daemon's pid (user.hoardfs.pid).
bool read_daemon_pid(const std::string& mountpoint, pid_t* pid, ToolError* error);

// FsStats from user.hoardfs.stat. Missing keys read as 0.
bool read_stats(const std::string& mountpoint, FsStats* stats, ToolError* error);
bool parse_stats_json(const std::string& json, FsStats* stats, std::string* problem);
std::string stats_to_json(const FsStats& stats);

// Runs a control command ("flushcache", "upload-meta", "cachesize N",
// "log LEVEL") after checking that `mountpoint` is a hoardfs mount root
// (user.hoardfs.pid). While it runs, a thread polls user.hoardfs.stat and, when
// `show_progress` and stderr is a terminal, shows the dirty bytes draining.
bool run_control_command(const std::string& mountpoint, const std::string& command,
                         bool show_progress, ToolError* error);

}  // namespace hoardfs::tools
