// Low-level FUSE handlers: each translates one request into one Filesystem
// call and sends exactly one reply (fuse_reply_* or fuse_reply_err).
#include "fuse/fuse_operations.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/xattr.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuse/fuse_uring.h"
#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {
namespace {

constexpr unsigned kMaxWrite = 1u << 20;  // bytes per write request
constexpr unsigned kMaxBackground = 64;   // parallel async requests (read-ahead)
// Read on the mount's root: how requests reach the daemon.
constexpr std::string_view kTransportAttribute = "user.hoardfs.transport";

AdapterContext& context(fuse_req_t req) {
  return *static_cast<AdapterContext*>(fuse_req_userdata(req));
}

Filesystem& filesystem(fuse_req_t req) { return context(req).fs; }

Caller caller_of(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Caller caller;
  caller.uid = ctx->uid;
  caller.gid = ctx->gid;
  caller.pid = ctx->pid;
  caller.umask = ctx->umask;
  caller.apply_umask = context(req).dont_mask;
  return caller;
}

// Replies with an entry. The reply adds one lookup reference in the kernel;
// when the reply cannot be delivered (interrupted request) that reference is
// dropped again so the inode is not pinned forever.
// The entry the kernel gets for `attr`, with this mount's cache timeouts.
fuse_entry_param entry_for(fuse_req_t req, const struct stat& attr) {
  const FuseOptions& options = context(req).options;
  fuse_entry_param entry{};
  entry.ino = attr.st_ino;
  entry.generation = 1;  // inode numbers are never reused
  entry.attr = attr;
  entry.attr_timeout = options.attr_timeout_s;
  entry.entry_timeout = options.entry_timeout_s;
  return entry;
}

void reply_entry(fuse_req_t req, const struct stat& attr) {
  fuse_entry_param entry = entry_for(req, attr);
  if (fuse_reply_entry(req, &entry) != 0) filesystem(req).forget(attr.st_ino, 1);
}

void reply_attr(fuse_req_t req, const struct stat& attr) {
  fuse_reply_attr(req, &attr, context(req).options.attr_timeout_s);
}

// Sends an xattr value or name list following the size protocol: size 0 asks
// for the length, a too small buffer gets ERANGE.
void reply_xattr_data(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (data.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

// --- session ---

void op_init(void* userdata, fuse_conn_info* conn) {
  conn->max_write = kMaxWrite;  // libfuse lowers it to what its buffers hold
  if (conn->max_readahead > kMaxReadahead) conn->max_readahead = kMaxReadahead;
  conn->max_background = kMaxBackground;
  conn->congestion_threshold = kMaxBackground * 3 / 4;
  conn->time_gran = 1;  // nanosecond timestamps
  // The kernel truncates through setattr before open() and clears setuid
  // bits itself; Filesystem::open() never sees O_TRUNC.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Every change to a file's data goes through this mount (the tree commands
  // only add names), so the kernel's pages stay right without comparing the
  // mtime on each read: with auto_inval_data a read after a write asked for
  // the attributes and, the mtime having moved, dropped the file's pages.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  auto* adapter = static_cast<AdapterContext*>(userdata);
  if (!kernel_checks_permissions(adapter->options)) {
    // Without default_permissions the kernel's copy of a mode has no sticky
    // bit, so it must not compute the mode that clears setuid on chown.
    if ((conn->capable & FUSE_CAP_HANDLE_KILLPRIV) && adapter->init_hooks) {
      conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
      adapter->init_flags_to_add |= FUSE_HANDLE_KILLPRIV;  // libfuse 3.14 leaves it out
      adapter->handle_killpriv = true;
    } else {
      log::warning("the kernel cannot leave clearing setuid to the filesystem: a chown of a "
                   "setuid file may drop its sticky bit");
    }
  }
  if (adapter->options.posix_acl) {
    if ((conn->capable & FUSE_CAP_POSIX_ACL) && (conn->capable & FUSE_CAP_DONT_MASK)) {
      conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
      adapter->dont_mask = true;
    } else {
      log::warning("the kernel cannot enforce POSIX ACLs: the acl option has no effect, ACLs are refused");
      adapter->fs.disable_posix_acl();
    }
  }
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  const bool drops_overwritten_pages = conn->proto_major > 7 || (conn->proto_major == 7 && conn->proto_minor >= 39);
  adapter->direct_writes = adapter->options.direct_writes.value_or(drops_overwritten_pages);
  // Listings carry attributes when the kernel finds them useful (ls -l, du, rsync).
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
  log::debug("fuse: connection ready (protocol 7.{}, max_write {} bytes, max_readahead {} bytes, direct writes {})",
             conn->proto_minor, conn->max_write, conn->max_readahead, adapter->direct_writes ? "on" : "off");
}

void op_destroy(void* userdata) {
  (void)userdata;
  // Nothing to do here: run_fuse_session() calls Filesystem::shutdown() once
  // the session is gone, whatever the way it ended.
  log::debug("fuse: session destroyed");
}

// --- names ---

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  struct stat attr {};
  int err = filesystem(req).lookup(parent, name, &attr);
  if (err == ENOENT && context(req).options.entry_timeout_s > 0) {
    // A negative entry the kernel may keep for entry_timeout: creating a
    // file asks once, not twice. Names made behind the kernel's back
    // (hoardfs cp) are invalidated explicitly.
    fuse_entry_param entry{};
    entry.entry_timeout = context(req).options.entry_timeout_s;
    fuse_reply_entry(req, &entry);
  } else if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_entry(req, attr);
  }
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  filesystem(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Filesystem& fs = filesystem(req);
  for (size_t i = 0; i < count; ++i) fs.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  (void)fi;
  struct stat attr {};
  int err = filesystem(req).getattr(ino, &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_attr(req, attr);
  }
}

}  // namespace

AttrChanges attr_changes_from(const struct stat& values, int to_set, bool handle_killpriv, uid_t caller_uid) {
  AttrChanges changes;
  changes.mode = to_set & FUSE_SET_ATTR_MODE;
  changes.uid = to_set & FUSE_SET_ATTR_UID;
  changes.gid = to_set & FUSE_SET_ATTR_GID;
  changes.size = to_set & FUSE_SET_ATTR_SIZE;
  changes.atime = to_set & FUSE_SET_ATTR_ATIME;
  changes.mtime = to_set & FUSE_SET_ATTR_MTIME;
  changes.atime_now = to_set & FUSE_SET_ATTR_ATIME_NOW;
  changes.mtime_now = to_set & FUSE_SET_ATTR_MTIME_NOW;
  changes.ctime = to_set & FUSE_SET_ATTR_CTIME;
  changes.values = values;
  if (handle_killpriv) {
    const bool owner = to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
    const bool empty = (to_set & ~FUSE_SET_ATTR_CTIME) == 0;
    const bool unprivileged_truncate = (to_set & FUSE_SET_ATTR_SIZE) && caller_uid != 0;
    changes.drop_privileges = owner || empty || unprivileged_truncate;
  }
  return changes;
}

namespace {

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* values, int to_set,
                fuse_file_info* fi) {
  (void)fi;  // the inode is enough: attributes are per inode, not per handle
  struct stat attr {};
  const Caller caller = caller_of(req);
  const AttrChanges changes = attr_changes_from(*values, to_set, context(req).handle_killpriv, caller.uid);
  int err = filesystem(req).setattr(ino, changes, caller, &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_attr(req, attr);
  }
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  // Reached only without default_permissions (kernel_checks_permissions).
  fuse_reply_err(req, filesystem(req).access(ino, mask, caller_of(req)));
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  std::string target;
  int err = filesystem(req).readlink(ino, &target);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_readlink(req, target.c_str());
  }
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  struct stat attr {};
  int err = filesystem(req).mknod(parent, name, mode, rdev, caller_of(req), &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_entry(req, attr);
  }
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  struct stat attr {};
  int err = filesystem(req).mkdir(parent, name, mode, caller_of(req), &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_entry(req, attr);
  }
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, filesystem(req).unlink(parent, name));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_reply_err(req, filesystem(req).rmdir(parent, name));
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  struct stat attr {};
  int err = filesystem(req).symlink(target, parent, name, caller_of(req), &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_entry(req, attr);
  }
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  fuse_reply_err(req, filesystem(req).rename(parent, name, new_parent, new_name, flags));
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  struct stat attr {};
  int err = filesystem(req).link(ino, new_parent, new_name, &attr);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_entry(req, attr);
  }
}

// --- files ---

// Flags of an open file's reply. All changes go through this mount, so the
// page cache stays valid between opens (the kernel still drops it when it
// sees mtime/size change). Write-only handles may bypass it (FuseOptions::
// direct_writes).
void set_open_flags(fuse_req_t req, fuse_file_info* fi) {
  fi->keep_cache = 1;
  if (context(req).direct_writes && (fi->flags & O_ACCMODE) == O_WRONLY) fi->direct_io = 1;
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Filesystem& fs = filesystem(req);
  uint64_t fh = 0;
  int err = fs.open(ino, fi->flags, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  set_open_flags(req, fi);
  if (fuse_reply_open(req, fi) != 0) fs.release(ino, fh);  // interrupted: no release will come
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  Filesystem& fs = filesystem(req);
  struct stat attr {};
  uint64_t fh = 0;
  int err = fs.create(parent, name, mode, fi->flags, caller_of(req), &attr, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  set_open_flags(req, fi);
  fuse_entry_param entry = entry_for(req, attr);
  if (fuse_reply_create(req, &entry, fi) != 0) {
    fs.release(attr.st_ino, fh);
    fs.forget(attr.st_ino, 1);
  }
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  // The data goes straight into the ring entry that carries the reply, or
  // else into a buffer this thread keeps (never zero-filled per request).
  size_t capacity = 0;
  char* buffer = UringTransport::reply_buffer(&capacity);
  thread_local std::unique_ptr<char[]> own;
  thread_local size_t own_size = 0;
  if (buffer == nullptr || capacity < size) {
    if (own_size < size) {
      own = std::make_unique_for_overwrite<char[]>(size);
      own_size = size;
    }
    buffer = own.get();
  }
  size_t got = 0;
  int err = filesystem(req).read_into(ino, fi->fh, static_cast<uint64_t>(offset), size, buffer, &got);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_buf(req, buffer, got);
  }
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t offset,
              fuse_file_info* fi) {
  size_t written = 0;
  int err = filesystem(req).write(ino, fi->fh, static_cast<uint64_t>(offset),
                                  std::string_view(buf, size), &written);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_write(req, written);
  }
}

void op_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // Nothing to do at close (data reaches the cache at write time): ENOSYS
  // tells the kernel to stop sending FLUSH, one request less per close.
  int err = filesystem(req).flush(ino, fi->fh);
  fuse_reply_err(req, err == 0 ? ENOSYS : err);
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  fuse_reply_err(req, filesystem(req).release(ino, fi->fh));
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  fuse_reply_err(req, filesystem(req).fsync(ino, fi->fh, datasync != 0));
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  fuse_file_info* fi) {
  fuse_reply_err(req, filesystem(req).fallocate(ino, fi->fh, mode, static_cast<uint64_t>(offset),
                                                static_cast<uint64_t>(length)));
}

// --- directories ---

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Filesystem& fs = filesystem(req);
  uint64_t fh = 0;
  int err = fs.opendir(ino, &fh);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = fh;
  // The kernel keeps listings in the directory's page cache while the
  // directory is unchanged: its own changes bump the directory's version, and
  // tree operations (hoardfs rm, cp) invalidate its pages (fuse_session.cc).
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) fs.releasedir(ino, fh);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  std::vector<char> buffer(size);
  size_t used = 0;
  auto emit = [&](std::string_view name, uint64_t entry_ino, mode_t mode, uint64_t next_offset) {
    std::string name_z(name);  // fuse_add_direntry wants a C string
    struct stat attr {};
    attr.st_ino = entry_ino;
    attr.st_mode = mode;
    size_t needed = fuse_add_direntry(req, buffer.data() + used, size - used, name_z.c_str(),
                                      &attr, static_cast<off_t>(next_offset));
    if (needed > size - used) return false;  // full: the entry is sent next time
    used += needed;
    return true;
  };
  int err = filesystem(req).readdir(ino, fi->fh, static_cast<uint64_t>(offset), emit);
  if (err != 0 && used == 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_buf(req, buffer.data(), used);
  }
}

// Entries with their attributes, so that ls -l, du, find and rsync need no
// lookup per entry. Each entry sent (but "." and "..") is a lookup reference.
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  Filesystem& fs = filesystem(req);
  std::vector<char> buffer(size);
  size_t used = 0;
  std::vector<uint64_t> referenced;
  auto emit = [&](std::string_view name, const struct stat& attr, uint64_t next_offset) {
    std::string name_z(name);
    fuse_entry_param entry = entry_for(req, attr);
    size_t needed = fuse_add_direntry_plus(req, buffer.data() + used, size - used, name_z.c_str(), &entry,
                                           static_cast<off_t>(next_offset));
    if (needed > size - used) return false;
    used += needed;
    if (name != "." && name != "..") referenced.push_back(attr.st_ino);
    return true;
  };
  int err = fs.readdirplus(ino, fi->fh, static_cast<uint64_t>(offset), emit);
  if (err != 0 && used == 0) {
    fuse_reply_err(req, err);
  } else if (fuse_reply_buf(req, buffer.data(), used) != 0) {
    for (uint64_t entry_ino : referenced) fs.forget(entry_ino, 1);  // never reached the kernel
  }
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  fuse_reply_err(req, filesystem(req).releasedir(ino, fi->fh));
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  fuse_reply_err(req, filesystem(req).fsyncdir(ino, fi->fh, datasync != 0));
}

void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct statvfs out {};
  int err = filesystem(req).statfs(&out);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    fuse_reply_statfs(req, &out);
  }
}

// --- extended attributes (the control xattrs on the root go through here too) ---

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  fuse_reply_err(req, filesystem(req).setxattr(ino, name, std::string_view(value, size), flags,
                                               caller_of(req)));
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  std::string value;
  if (ino == FUSE_ROOT_ID && std::string_view(name) == kTransportAttribute) {
    // Answered here: only the adapter knows how requests reach it.
    const UringTransport* uring = context(req).uring;
    reply_xattr_data(req, uring != nullptr && uring->active() ? "io_uring" : "/dev/fuse", size);
    return;
  }
  int err = filesystem(req).getxattr(ino, name, caller_of(req), &value);
  if (err != 0) {
    fuse_reply_err(req, err);
  } else {
    reply_xattr_data(req, value, size);
  }
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  std::vector<std::string> names;
  int err = filesystem(req).listxattr(ino, &names);
  if (err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  std::string list;  // "name\0name\0..."
  for (const std::string& name : names) {
    list += name;
    list.push_back('\0');
  }
  reply_xattr_data(req, list, size);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  fuse_reply_err(req, filesystem(req).removexattr(ino, name, caller_of(req)));
}

}  // namespace

fuse_lowlevel_ops make_fuse_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.access = op_access;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.fallocate = op_fallocate;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  // No getlk/setlk/flock: the kernel then keeps locks local to this mount.
  return ops;
}

}  // namespace hoardfs::fuse_internal
