// run_fuse_session: session set-up, mount, multi-threaded loop, unwind.
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fuse/fuse_operations.h"
#include "fuse/fuse_uring.h"
#include "fuse/init_reply.h"
#include "fuse/mount_readahead.h"
#include "hoardfs/log.h"

namespace hoardfs {
namespace {

// libfuse reports mount problems only through its log function; keep the last
// error line so that a failed mount can be explained in one line.
std::mutex g_fuse_log_mutex;
std::string g_last_fuse_error;
// Until the mount exists, errors are only kept: they become the one-line
// error of the failed mount instead of being logged twice.
std::atomic<bool> g_log_fuse_errors{false};

void forward_fuse_log(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buffer[1024];
  std::vsnprintf(buffer, sizeof buffer, fmt, ap);
  std::string line(buffer);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return;
  if (level <= FUSE_LOG_ERR) {
    {
      std::lock_guard lock(g_fuse_log_mutex);
      g_last_fuse_error = line;
    }
    if (g_log_fuse_errors) {
      log::error("libfuse: {}", line);
    } else {
      log::debug("libfuse: {}", line);
    }
  } else if (level <= FUSE_LOG_WARNING) {
    log::warning("libfuse: {}", line);
  } else {
    log::debug("libfuse: {}", line);
  }
}

std::string take_last_fuse_error() {
  std::lock_guard lock(g_fuse_log_mutex);
  std::string error = std::move(g_last_fuse_error);
  g_last_fuse_error.clear();
  return error;
}

// Escapes ',' and '\' so that a value survives libfuse's -o splitting.
std::string escape_option_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string kernel_mount_options(const FuseOptions& options) {
  std::string text = kernel_checks_permissions(options) ? "default_permissions,subtype=hoardfs" : "subtype=hoardfs";
  if (!options.fsname.empty()) text += ",fsname=" + escape_option_value(options.fsname);
  if (options.allow_other) text += ",allow_other";
  if (options.allow_root) text += ",allow_root";
  for (const std::string& flag : options.mount_flags) text += "," + flag;
  return text;
}

// Owns the libfuse argument vector.
class FuseArgs {
 public:
  explicit FuseArgs(const std::vector<std::string>& argv) {
    for (const std::string& arg : argv) fuse_opt_add_arg(&args_, arg.c_str());
  }
  ~FuseArgs() { fuse_opt_free_args(&args_); }
  FuseArgs(const FuseArgs&) = delete;
  FuseArgs& operator=(const FuseArgs&) = delete;
  fuse_args* get() { return &args_; }

 private:
  fuse_args args_ = FUSE_ARGS_INIT(0, nullptr);
};

Status mount_error(const std::string& what) {
  std::string detail = take_last_fuse_error();
  return Status::io_error(detail.empty() ? what : what + ": " + detail);
}

// The filesystem was opened (it may hold the backend lock) but never mounted:
// release it the same way as after an unmount.
void shutdown_unmounted(Filesystem& fs) {
  if (Status status = fs.shutdown(); !status.is_ok()) {
    log::error("closing the filesystem after the failed mount: {}", status.to_string());
  }
}

}  // namespace

bool kernel_checks_permissions(const FuseOptions& options) {
  return options.allow_other || options.posix_acl || ::geteuid() != 0;
}

Status run_fuse_session(Filesystem& fs, const std::string& mountpoint, const FuseOptions& options,
                        const std::function<void(const Status&)>& on_mounted) {
  fuse_set_log_func(forward_fuse_log);
  std::vector<std::string> argv = {"hoardfs", "-o", kernel_mount_options(options)};
  if (options.debug) argv.emplace_back("-d");
  FuseArgs args(argv);

  fuse_lowlevel_ops ops = fuse_internal::make_fuse_operations();
  fuse_internal::AdapterContext context{fs, options};
  fuse_session* session = fuse_session_new(args.get(), &ops, sizeof ops, &context);
  if (session == nullptr) {
    Status status = mount_error("cannot create the FUSE session");
    on_mounted(status);
    shutdown_unmounted(fs);
    return status;
  }
  if (options.handle_signals && fuse_set_signal_handlers(session) != 0) {
    fuse_session_destroy(session);
    Status status = mount_error("cannot install signal handlers");
    on_mounted(status);
    shutdown_unmounted(fs);
    return status;
  }
  if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    if (options.handle_signals) fuse_remove_signal_handlers(session);
    fuse_session_destroy(session);
    Status status = mount_error("cannot mount " + mountpoint);
    on_mounted(status);
    shutdown_unmounted(fs);
    return status;
  }
  g_log_fuse_errors = true;
  std::unique_ptr<fuse_internal::UringTransport> uring;
  if (options.io_uring) {
    if (!fuse_internal::UringTransport::kernel_allows()) {
      log::warning("io_uring asked for, but the kernel does not allow it (fuse.enable_uring=N); using /dev/fuse");
    } else {
      uring = std::make_unique<fuse_internal::UringTransport>(4, options.spin_us);
      uring->set_read_probe([&fs](uint64_t ino, uint64_t offset, uint32_t size) {
        return fs.read_would_wait(ino, offset, size);
      });
      context.uring = uring.get();
      if (uring->attach(session)) {
        context.init_hooks = true;
      } else {
        context.uring = nullptr;
        uring.reset();
      }
    }
  }
  if (!uring && !kernel_checks_permissions(options)) context.init_hooks = fuse_internal::attach_init_hooks(session);
  // Tree operations (hoardfs rm, cp) change entries behind the kernel's back.
  fs.set_entry_invalidator([session](uint64_t parent, const std::string& name) {
    if (name.empty()) {  // inode `parent`: its attributes, and its listing or pages
      int rc = fuse_lowlevel_notify_inval_inode(session, parent, 0, 0);
      if (rc != 0 && rc != -ENOENT) log::debug("invalidating inode {}: {}", parent, std::strerror(-rc));
      return;
    }
    int rc = fuse_lowlevel_notify_inval_entry(session, parent, name.data(), name.size());
    if (rc != 0 && rc != -ENOENT) log::debug("invalidating entry {} of {}: {}", name, parent, std::strerror(-rc));
    // And the listing the kernel may keep of the directory (cache_readdir).
    rc = fuse_lowlevel_notify_inval_inode(session, parent, 0, 0);
    if (rc != 0 && rc != -ENOENT) log::debug("invalidating listing of {}: {}", parent, std::strerror(-rc));
  });
  log::info("mounted {} at {}", options.fsname, mountpoint);
  // The mount is reported once it answers (the read-ahead is set after a
  // stat of it, which the loop below serves): whoever mounted finds it live
  // and tuned. The stat fails once the session is destroyed at the latest,
  // so the join cannot hang.
  std::thread answering([&mountpoint, &on_mounted] {
    fuse_internal::raise_mount_readahead(mountpoint, fuse_internal::kMaxReadahead);
    on_mounted(Status::ok());
  });

  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, options.max_threads);
  fuse_loop_cfg_set_clone_fd(config, 0);
  int loop_result = fuse_session_loop_mt(session, config);
  fuse_loop_cfg_destroy(config);
  if (loop_result < 0) log::error("FUSE session loop failed: {}", std::strerror(-loop_result));
  if (loop_result > 0) log::info("signal {} received, unmounting", loop_result);

  fs.set_entry_invalidator(nullptr);
  if (uring) uring->stop();
  // A no-op when the kernel has already unmounted (umount, fusermount3 -u).
  fuse_session_unmount(session);
  if (options.handle_signals) fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  answering.join();

  log::debug("FUSE session of {} ended", mountpoint);
  Status status = fs.shutdown();
  if (!status.is_ok()) {
    log::error("final upload failed, data stays in the local cache: {}", status.to_string());
  }
  return status;
}

}  // namespace hoardfs
