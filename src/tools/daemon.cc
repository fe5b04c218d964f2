#include "tools/daemon.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hoardfs/log.h"

namespace hoardfs::tools {
namespace {

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string data;
  char buffer[1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    data.append(buffer, static_cast<size_t>(n));
  }
}

void detach_stdio() {
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd < 0) return;
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(null_fd, STDOUT_FILENO);
  ::dup2(null_fd, STDERR_FILENO);
  if (null_fd > STDERR_FILENO) ::close(null_fd);
}

// Decodes the child's report; nullopt means "mounted".
std::optional<ToolError> decode_report(const std::string& report, pid_t child) {
  if (report.empty()) {
    int wait_status = 0;
    std::string how = "before the mount was ready";
    if (::waitpid(child, &wait_status, 0) == child) {
      if (WIFSIGNALED(wait_status)) {
        how = fmt::format("from signal {} ({}) before the mount was ready", WTERMSIG(wait_status),
                          strsignal(WTERMSIG(wait_status)));
      } else if (WIFEXITED(wait_status)) {
        how = fmt::format("with status {} before the mount was ready", WEXITSTATUS(wait_status));
      }
    }
    return ToolError{exit_code::kError, "the mount daemon died " + how};
  }
  size_t newline = report.find('\n');
  int code = std::atoi(report.substr(0, newline).c_str());
  if (code == 0) return std::nullopt;
  std::string message = newline == std::string::npos ? "mount failed" : report.substr(newline + 1);
  ::waitpid(child, nullptr, 0);
  return ToolError{code, message};
}

}  // namespace

std::optional<ToolError> run_as_daemon(const std::function<int(const StartupReport&)>& daemon_main) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return ToolError{exit_code::kError, fmt::format("cannot create a pipe: {}", std::strerror(errno))};
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return ToolError{exit_code::kError, fmt::format("cannot fork: {}", std::strerror(errno))};
  }
  if (child > 0) {
    ::close(fds[1]);
    std::string report = read_all(fds[0]);
    ::close(fds[0]);
    return decode_report(report, child);
  }

  // The daemon.
  ::close(fds[0]);
  ::setsid();
  if (::chdir("/") != 0) {
    // Cannot happen in practice; keep going from wherever we are.
  }
  int report_fd = fds[1];
  bool reported = false;
  StartupReport report = [&](const ToolError* failure) {
    if (reported) return;
    reported = true;
    if (failure == nullptr) {
      write_all(report_fd, "0\n");
      ::close(report_fd);
      notify_systemd_ready();
      log::use_syslog("hoardfs");
      detach_stdio();
    } else {
      write_all(report_fd, fmt::format("{}\n{}", failure->exit_code, failure->message));
      ::close(report_fd);
    }
  };
  int result = daemon_main(report);
  if (!reported) {
    ToolError failure{result == 0 ? exit_code::kError : result, "the mount daemon stopped before mounting"};
    report(&failure);
  }
  std::exit(result);
}

void notify_systemd_ready() {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || (socket_path[0] != '/' && socket_path[0] != '@')) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  size_t length = std::strlen(socket_path);
  if (length >= sizeof address.sun_path) return;
  std::memcpy(address.sun_path, socket_path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const char message[] = "READY=1";
  ::sendto(fd, message, sizeof message - 1, 0, reinterpret_cast<sockaddr*>(&address),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  ::close(fd);
}

}  // namespace hoardfs::tools
