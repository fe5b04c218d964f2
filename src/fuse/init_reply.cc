// Device hooks that complete libfuse's INIT reply (see init_reply.h).
#include "fuse/init_reply.h"

#include <linux/fuse.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "fuse/fuse_operations.h"
#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {

std::vector<char> flatten(const iovec* iov, int count) {
  std::vector<char> message;
  for (int i = 0; i < count; ++i) {
    const char* base = static_cast<const char*>(iov[i].iov_base);
    message.insert(message.end(), base, base + iov[i].iov_len);
  }
  return message;
}

void add_init_flags(std::vector<char>& message, uint32_t flags) {
  constexpr size_t kFlagsAt = sizeof(fuse_out_header) + offsetof(fuse_init_out, flags);
  if (message.size() < kFlagsAt + sizeof(uint32_t)) return;
  fuse_out_header out;
  std::memcpy(&out, message.data(), sizeof out);
  if (out.error != 0) return;
  uint32_t value = 0;
  std::memcpy(&value, message.data() + kFlagsAt, sizeof value);
  value |= flags;
  std::memcpy(message.data() + kFlagsAt, &value, sizeof value);
}

uint64_t init_unique_of(const void* buf, ssize_t n) {
  if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return 0;
  fuse_in_header in;
  std::memcpy(&in, buf, sizeof in);
  return in.opcode == FUSE_INIT ? in.unique : 0;
}

namespace {

ssize_t read_device(int fd, void* buf, size_t size, void* userdata) {
  ssize_t n = ::read(fd, buf, size);
  if (uint64_t unique = init_unique_of(buf, n)) static_cast<AdapterContext*>(userdata)->init_unique = unique;
  return n;
}

ssize_t write_device(int fd, iovec* iov, int count, void* userdata) {
  auto* context = static_cast<AdapterContext*>(userdata);
  fuse_out_header out;
  if (iov[0].iov_len < sizeof out) return ::writev(fd, iov, count);
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique == 0 || out.unique != context->init_unique.load()) return ::writev(fd, iov, count);
  std::vector<char> message = flatten(iov, count);
  add_init_flags(message, context->init_flags_to_add);
  return ::write(fd, message.data(), message.size());
}

}  // namespace

bool attach_init_hooks(fuse_session* session) {
  fuse_custom_io io{};
  io.read = read_device;
  io.writev = write_device;
  if (fuse_session_custom_io(session, &io, fuse_session_fd(session)) != 0) {
    log::warning("fuse: libfuse refused custom device I/O; setuid bits are cleared by the kernel");
    return false;
  }
  return true;
}

}  // namespace hoardfs::fuse_internal
