// Extended attributes, and the control attributes on the root directory
// through which the tools talk to a running mount (doc/design.md).
#include <sys/xattr.h>
#include <unistd.h>

#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fs/filesystem_impl.h"
#include "fs/posix_acl.h"
#include "hoardfs/log.h"

namespace hoardfs {

namespace {
constexpr size_t kMaxXattrName = 255;
constexpr size_t kMaxXattrValue = 64 * 1024;

bool is_control(uint64_t ino, std::string_view name) {
  return ino == kRootInode && (name == kCtrlStatXattr || name == kCtrlCommandXattr || name == kCtrlPidXattr ||
                               name == kCtrlSettledXattr);
}

bool is_acl(std::string_view name) { return name == acl::kAccessXattr || name == acl::kDefaultXattr; }
}  // namespace

// Attributes refused with EOPNOTSUPP for every call. POSIX ACLs without -o
// acl: kept as plain attributes they would neither be enforced nor change the
// mode (and `cp -a` sets a new directory's mode only through the ACL
// attribute); refused, tools fall back to chmod. SELinux labels: not kept.
// `ls -l` asks for both on every entry unless the answer is "not supported",
// which it remembers for the whole filesystem.
bool FilesystemImpl::unsupported_xattr(std::string_view name) const {
  return name == "security.selinux" || (is_acl(name) && !options_.posix_acl);
}

std::optional<std::string> FilesystemImpl::stored_xattr(uint64_t ino, std::string_view name) {
  auto& st = q("SELECT value FROM xattrs WHERE inode = ? AND name = ?").bind(ino, name);
  std::optional<std::string> value;
  if (st.step()) value = st.blob(0);
  st.reset();
  return value;
}

FilesystemImpl::NewInodeAcls FilesystemImpl::new_inode_acls(uint64_t parent, uint32_t mode, const Caller& caller) {
  NewInodeAcls out;
  out.mode = mode;
  std::optional<acl::Acl> inherited;
  if (options_.posix_acl) {
    if (auto value = stored_xattr(parent, acl::kDefaultXattr)) inherited = acl::parse(*value);
  }
  if (!inherited) {
    if (caller.apply_umask) out.mode &= ~static_cast<uint32_t>(caller.umask & 0777);
    return out;
  }
  if (S_ISDIR(mode)) out.default_acl = acl::serialize(*inherited);
  out.mode = acl::inherit(&*inherited, mode);
  if (!acl::is_minimal(*inherited)) out.access = acl::serialize(*inherited);
  return out;
}

void FilesystemImpl::store_new_inode_acls(uint64_t ino, const NewInodeAcls& acls) {
  auto& insert = q("INSERT INTO xattrs(inode, name, value) VALUES (?, ?, ?)");
  if (!acls.access.empty()) insert.bind(ino, acl::kAccessXattr, acls.access).run();
  if (!acls.default_acl.empty()) insert.bind(ino, acl::kDefaultXattr, acls.default_acl).run();
}

void FilesystemImpl::acl_follow_mode(uint64_t ino, uint32_t mode) {
  if (!options_.posix_acl) return;
  auto value = stored_xattr(ino, acl::kAccessXattr);
  std::optional<acl::Acl> access = value ? acl::parse(*value) : std::nullopt;
  if (!access) return;
  acl::apply_mode(&*access, mode);
  q("UPDATE xattrs SET value = ? WHERE inode = ? AND name = ?").bind(acl::serialize(*access), ino, acl::kAccessXattr).run();
}

int FilesystemImpl::setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags,
                             const Caller& caller) {
  if (is_control(ino, name)) {
    if (name != kCtrlCommandXattr) return EPERM;
    return run_control(value, caller);
  }
  if (unsupported_xattr(name)) return EOPNOTSUPP;
  return guarded("setxattr", [&] {
    if (name.empty()) return EINVAL;
    if (name.size() > kMaxXattrName) return ERANGE;
    if (value.size() > kMaxXattrValue) return E2BIG;
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    if (row->locked) return EPERM;
    auto& st = q("SELECT 1 FROM xattrs WHERE inode = ? AND name = ?").bind(ino, name);
    bool exists = st.step();
    st.reset();
    if ((flags & XATTR_CREATE) && exists) return EEXIST;
    if ((flags & XATTR_REPLACE) && !exists) return ENODATA;
    std::string stored(value);
    bool keep = true;
    if (is_acl(name)) {
      // The kernel checked the ACL already; a value that is not one is refused all the same.
      auto parsed = acl::parse(value);
      if (!parsed) return EINVAL;
      if (name == acl::kDefaultXattr && !S_ISDIR(row->mode)) return EACCES;
      if (name == acl::kAccessXattr) {
        // The mode follows the ACL; an ACL the mode says in full is not kept.
        row->mode = (row->mode & ~static_cast<uint32_t>(0777)) | acl::permission_bits(*parsed);
        keep = !acl::is_minimal(*parsed);
      }
      stored = acl::serialize(*parsed);
    }
    if (name == kCapabilityXattr) capabilities_stored_.store(true);  // before a getxattr could find it
    sql::Transaction txn(db_);
    if (keep) {
      q("INSERT INTO xattrs(inode, name, value) VALUES (?, ?, ?) "
        "ON CONFLICT(inode, name) DO UPDATE SET value = excluded.value").bind(ino, name, stored).run();
    } else {
      q("DELETE FROM xattrs WHERE inode = ? AND name = ?").bind(ino, name).run();
    }
    q("UPDATE inodes SET mode = ?, ctime_ns = ? WHERE id = ?").bind(row->mode, now_ns(), ino).run();
    txn.commit();
    return 0;
  });
}

int FilesystemImpl::getxattr(uint64_t ino, std::string_view name, const Caller& /*caller*/, std::string* value) {
  if (unsupported_xattr(name)) return EOPNOTSUPP;
  if (name == kTreeStatXattr) return tree_stats_json(ino, value);
  if (is_control(ino, name)) {
    if (name == kCtrlStatXattr) {
      *value = stats_json();
    } else if (name == kCtrlPidXattr) {
      *value = std::to_string(::getpid());
    } else if (name == kCtrlSettledXattr) {
      wait_for_invalidations();
      value->assign(1, '1');
    } else {
      return ENODATA;
    }
    return 0;
  }
  // Asked before every write: answered without the lock while no file has one.
  if (name == kCapabilityXattr && !capabilities_stored_.load()) return ENODATA;
  return guarded("getxattr", [&] {
    std::lock_guard lock(mu_);
    auto stored = stored_xattr(ino, name);
    if (!stored) return load_inode(ino) ? ENODATA : ENOENT;
    *value = std::move(*stored);
    return 0;
  });
}

int FilesystemImpl::listxattr(uint64_t ino, std::vector<std::string>* names) {
  return guarded("listxattr", [&] {
    std::lock_guard lock(mu_);
    if (!load_inode(ino)) return ENOENT;
    auto& st = q("SELECT name FROM xattrs WHERE inode = ? ORDER BY name").bind(ino);
    while (st.step()) {
      std::string name = st.blob(0);
      if (!unsupported_xattr(name)) names->push_back(std::move(name));  // ACLs kept under -o acl
    }
    st.reset();
    return 0;
  });
}

int FilesystemImpl::removexattr(uint64_t ino, std::string_view name, const Caller& /*caller*/) {
  if (is_control(ino, name)) return EPERM;
  if (unsupported_xattr(name)) return EOPNOTSUPP;
  return guarded("removexattr", [&] {
    std::lock_guard lock(mu_);
    auto row = load_inode(ino);
    if (!row) return ENOENT;
    if (row->locked) return EPERM;
    sql::Transaction txn(db_);
    q("DELETE FROM xattrs WHERE inode = ? AND name = ?").bind(ino, name).run();
    if (db_.changes() == 0) return ENODATA;
    q("UPDATE inodes SET ctime_ns = ? WHERE id = ?").bind(now_ns(), ino).run();
    txn.commit();
    return 0;
  });
}

std::string FilesystemImpl::stats_json() {
  FsStats s = stats();
  nlohmann::json j = {
      {"entries", s.entries},           {"inodes", s.inodes},
      {"blocks", s.blocks},             {"data_bytes", s.data_bytes},
      {"dedup_bytes", s.dedup_bytes},   {"compressed_bytes", s.compressed_bytes},
      {"metadata_bytes", s.metadata_bytes}, {"cache_bytes", s.cache_bytes},
      {"dirty_bytes", s.dirty_bytes},   {"cache_limit_bytes", s.cache_limit_bytes},
      {"metadata_version", s.metadata_version},
  };
  return j.dump();
}

int FilesystemImpl::run_control(std::string_view command, const Caller& caller) {
  // Only the user who mounted (or root) may steer the mount.
  if (caller.uid != 0 && caller.uid != ::getuid()) return EACCES;
  std::string cmd(command);
  while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == '\0')) cmd.pop_back();
  std::string arg;
  if (size_t space = cmd.find(' '); space != std::string::npos) {
    arg = cmd.substr(space + 1);
    cmd.resize(space);
  }
  Status status;
  if (cmd == "flushcache") {
    status = flush_cache();
  } else if (cmd == "upload-meta") {
    status = upload_metadata();
  } else if (cmd == "compact") {
    CompactReport report;
    status = compact(&report);
  } else if (cmd == "cachesize") {
    char* end = nullptr;
    unsigned long long bytes = std::strtoull(arg.c_str(), &end, 10);
    if (arg.empty() || *end != '\0' || bytes == 0) return EINVAL;
    cache_->set_max_bytes(bytes);
    log::info("cache size limit set to {} bytes", bytes);
  } else if (cmd == "cp" || cmd == "rm") {
    // cp SRC_INO PARENT_INO NAME / rm PARENT_INO NAME (NAME: the rest, spaces and all)
    std::istringstream in(arg);
    uint64_t first = 0, second = 0;
    if (!(in >> first)) return EINVAL;
    if (cmd == "cp" && !(in >> second)) return EINVAL;
    if (in.get() != ' ') return EINVAL;
    std::string name((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (name.empty()) return EINVAL;
    return cmd == "cp" ? copy_tree(first, second, name) : remove_tree(first, name);
  } else if (cmd == "lock") {
    char* end = nullptr;
    unsigned long long ino = std::strtoull(arg.c_str(), &end, 10);
    if (arg.empty() || *end != '\0') return EINVAL;
    return lock_tree(ino);
  } else if (cmd == "log") {
    log::Level level;
    if (!log::parse_level(arg, &level)) return EINVAL;
    log::set_level(level);
  } else {
    return EINVAL;
  }
  if (!status.is_ok()) {
    log::error("{} failed: {}", cmd, status.to_string());
    return status.error_number() != 0 ? status.error_number() : EIO;
  }
  return 0;
}

}  // namespace hoardfs
