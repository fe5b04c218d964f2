// Daemonizing so that the parent can report a failed mount.
//
// mount.hoardfs does every check it can in the foreground, then forks. The
// child starts a new session, opens the filesystem and mounts it; it tells
// the parent the outcome through a pipe ("0\n" once the mount is live, or
// "<exit code>\n<message>" on failure). The parent exits only then: 0 when
// the mount is live, or with the child's exit code and one-line message.
#pragma once

#include <functional>
#include <optional>

#include "tools/tool_common.h"

namespace hoardfs::tools {

// Called by the serving process exactly once: nullptr when mounted,
// otherwise the failure.
using StartupReport = std::function<void(const ToolError* failure)>;

// Forks. The child (new session, working directory "/") runs
// `daemon_main(report)` and exits with its result; once it reports success
// its stdin/stdout/stderr go to /dev/null and logging goes to syslog.
// The parent returns nullopt when the child reported the mount live, or the
// failure it reported (or a description of how it died).
std::optional<ToolError> run_as_daemon(const std::function<int(const StartupReport&)>& daemon_main);

// Sends READY=1 to systemd when NOTIFY_SOCKET is set (Type=notify units).
void notify_systemd_ready();

}  // namespace hoardfs::tools
