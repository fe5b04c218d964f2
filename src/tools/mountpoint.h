// Mount point checks done before anything is mounted, so that a missing,
// wrong or busy mount point gives a clear error (exit 18) instead of a
// failure deep in libfuse.
#pragma once

#include <string>

#include "tools/tool_common.h"

namespace hoardfs::tools {

// Whether `absolute_path` appears as a mount point in `mountinfo` (the text
// of /proc/self/mountinfo, whose paths escape ' ', '\t', '\n' and '\\' as
// octal "\040" etc.). On a match *source and *fstype describe the mount.
bool mountinfo_has_mountpoint(const std::string& mountinfo, const std::string& absolute_path,
                              std::string* fstype, std::string* source);

// Checks that `path` exists, is a directory and is not a mount point already;
// *absolute gets its canonical absolute path.
bool check_mountpoint(const std::string& path, std::string* absolute, ToolError* error);

}  // namespace hoardfs::tools
