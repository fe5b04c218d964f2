// The INIT reply, completed: libfuse 3.14 takes FUSE_CAP_HANDLE_KILLPRIV
// from the init() handler (conn->want) but leaves FUSE_HANDLE_KILLPRIV out
// of the reply it builds (releases from 3.17 on send it). Without it the
// kernel computes the mode that clears setuid on chown itself, and on a
// mount without default_permissions its copy of the mode lacks the sticky
// bit, which the chown then drops.
//
// The device hooks here see the INIT request go by, and add the flags the
// adapter asked for (AdapterContext::init_flags_to_add) to its reply. The
// io_uring transport has hooks of its own, which add them while they rewrite
// the reply for their own flags.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

struct fuse_session;

namespace hoardfs::fuse_internal {

// Copies a reply's pieces into one message.
std::vector<char> flatten(const iovec* iov, int count);

// Sets `flags` (FUSE_* kernel flags of the first word) in the INIT reply
// `message` (out header + fuse_init_out). A reply with an error is left as is.
void add_init_flags(std::vector<char>& message, uint32_t flags);

// The unique id of the INIT request in `buf` (`n` bytes read from the
// device), or 0 when it is another request.
uint64_t init_unique_of(const void* buf, ssize_t n);

// Installs the hooks on a mounted session whose requests come through
// /dev/fuse. The session's userdata is the AdapterContext. False, with the
// reason logged, when libfuse refuses them.
bool attach_init_hooks(fuse_session* session);

}  // namespace hoardfs::fuse_internal
