// umount.hoardfs: uploads everything, unmounts, and returns only when the
// daemon has exited.
//
// Flow: find the daemon (user.hoardfs.pid) → "flushcache" (progress on a
// terminal) → "upload-meta", so that a failing backend is reported here and
// nothing is unmounted → unmount (umount2 as root, fusermount3 -u otherwise)
// → wait for the daemon's final upload and exit.
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "tools/control.h"
#include "tools/progress.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kTool = "umount.hoardfs";

struct UmountRequest {
  std::string mountpoint;
  bool quiet = false;
};

void add_options(CLI::App& app, UmountRequest& request) {
  app.description(
      "Upload all cached data and metadata of a hoardfs mount, unmount it and wait until its "
      "daemon has exited.");
  app.add_option("MOUNTPOINT", request.mountpoint, "The mount point")->required();
  app.add_flag("--quiet", request.quiet, "No progress output");
  // Flags umount(8) may hand to a helper: accepted and ignored.
  static int ignored_flags = 0;
  static std::string ignored_type;
  app.add_flag("-n,-v", ignored_flags, "Ignored (umount(8) helper flags)")->group("");
  app.add_option("-t", ignored_type, "Ignored (umount(8) type)")->group("");
}

// A pid file descriptor follows exactly this process even if the pid is
// reused later; -1 when the kernel has no pidfd_open.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

bool unmount(const std::string& mountpoint, ToolError* error) {
  if (::geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), UMOUNT_NOFOLLOW) == 0) return true;
    int err = errno;
    if (err == EBUSY) {
      *error = {exit_code::kMountpoint,
                fmt::format("{} is busy (a process uses files or has its working directory there); "
                            "everything is uploaded, unmount again when it is free",
                            mountpoint)};
    } else {
      *error = {exit_code::kError, fmt::format("cannot unmount {}: {}", mountpoint, std::strerror(err))};
    }
    return false;
  }
  pid_t child = ::fork();
  if (child < 0) {
    *error = {exit_code::kError, fmt::format("cannot fork: {}", std::strerror(errno))};
    return false;
  }
  if (child == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "--", mountpoint.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "%s: error: cannot run fusermount3: %s\n", kTool, std::strerror(errno));
    std::_Exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *error = {exit_code::kError, fmt::format("fusermount3 -u {} failed", mountpoint)};
  return false;
}

// Waits until the daemon has exited (it uploads the last metadata first).
void wait_for_exit(pid_t pid, int pidfd, bool quiet) {
  ProgressLine line(!quiet);
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool gone = false;
    if (pidfd >= 0) {
      pollfd entry{pidfd, POLLIN, 0};
      int ready = ::poll(&entry, 1, 500);
      gone = ready > 0;
    } else {
      gone = ::kill(pid, 0) != 0 && errno == ESRCH;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (gone) break;
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= 1.0) {
      line.update(fmt::format("Waiting for the daemon (pid {}) to finish its final upload: {}", pid,
                              format_duration(waited)));
    }
  }
  line.finish();
}

}  // namespace
}  // namespace hoardfs::tools

int main(int argc, char** argv) {
  using namespace hoardfs;
  using namespace hoardfs::tools;

  CLI::App app;
  configure_app(app, kTool, "8");
  UmountRequest request;
  add_options(app, request);
  if (int done = parse_command_line(app, argc, argv); done >= 0) return done;

  char resolved[PATH_MAX];
  if (::realpath(request.mountpoint.c_str(), resolved) == nullptr) {
    int err = errno;
    int code = err == ENOTCONN ? exit_code::kError : exit_code::kUsage;
    std::string hint = err == ENOTCONN ? fmt::format(" (daemon gone? clean up with 'fusermount3 -u {}')",
                                                     request.mountpoint)
                                       : "";
    return report_error(kTool, code, fmt::format("{}: {}{}", request.mountpoint, std::strerror(err), hint));
  }
  std::string mountpoint = resolved;

  ToolError error;
  pid_t pid = 0;
  if (!read_daemon_pid(mountpoint, &pid, &error)) return report_error(kTool, error);
  int pidfd = open_pidfd(pid);

  if (!run_control_command(mountpoint, "flushcache", !request.quiet, &error)) {
    error.message += "; nothing was unmounted (the data is safe in the local cache)";
    return report_error(kTool, error);
  }
  if (!set_control_xattr(mountpoint, kCtrlCommandXattr, "upload-meta", &error)) {
    error.message += "; nothing was unmounted (the data is safe in the local cache)";
    return report_error(kTool, error);
  }
  if (!unmount(mountpoint, &error)) return report_error(kTool, error);
  wait_for_exit(pid, pidfd, request.quiet);
  if (pidfd >= 0) ::close(pidfd);
  return exit_code::kOk;
}
