#include "fuse/mount_readahead.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {

Status raise_readahead(const std::string& bdi_root, dev_t device, uint64_t bytes, uint64_t* kib_before) {
  const std::string path = fmt::format("{}/{}:{}/read_ahead_kb", bdi_root, major(device), minor(device));
  std::ifstream in(path);
  uint64_t current = 0;
  if (!(in >> current)) return Status::not_found(fmt::format("cannot read {}", path));
  *kib_before = current;
  const uint64_t wanted = (bytes + 1023) / 1024;
  if (current >= wanted) return Status::ok();
  const std::string text = std::to_string(wanted) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + path);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = n < 0 ? errno : 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Status::from_errno(err != 0 ? err : EIO, "write " + path);
  return Status::ok();
}

void raise_mount_readahead(const std::string& mountpoint, uint64_t bytes) {
  // The descriptor holds on to the mount: should it go away meanwhile, the
  // calls below fail instead of reaching the directory underneath (whose
  // device is not ours to tune).
  int fd = ::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st{};
  struct statfs fs{};
  if (fd < 0 || ::fstat(fd, &st) != 0 || ::fstatfs(fd, &fs) != 0) {
    log::debug("read-ahead left as is: cannot stat {}: {}", mountpoint, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return;
  }
  ::close(fd);
  if (fs.f_type != FUSE_SUPER_MAGIC) {
    log::debug("read-ahead left as is: {} is no longer the FUSE mount", mountpoint);
    return;
  }
  uint64_t before = 0;
  Status s = raise_readahead("/sys/class/bdi", st.st_dev, bytes, &before);
  if (!s.is_ok()) {
    log::debug("read-ahead left as is: {}", s.to_string());
  } else if (before * 1024 < bytes) {
    log::debug("read-ahead of {} raised from {} KiB to {} KiB", mountpoint, before, (bytes + 1023) / 1024);
  }
}

}  // namespace hoardfs::fuse_internal
