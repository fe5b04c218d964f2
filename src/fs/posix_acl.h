// POSIX access control lists in the form the kernel hands them to a FUSE
// filesystem: the values of system.posix_acl_access and
// system.posix_acl_default (a little-endian version word, 2, then one
// 8-byte entry per tag: tag, permission bits, user or group id).
//
// The kernel enforces the ACLs (FUSE_POSIX_ACL); the filesystem stores them
// and keeps them and the mode in step: a new access ACL sets the mode's
// permission bits, chmod rewrites the ACL's owner, mask (or group) and other
// entries, and a new inode inherits its directory's default ACL. The rules
// are POSIX 1003.1e draft 17 as Linux implements them (acl(5)).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoardfs::acl {

inline constexpr std::string_view kAccessXattr = "system.posix_acl_access";
inline constexpr std::string_view kDefaultXattr = "system.posix_acl_default";

enum Tag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kGroup = 0x08,
  kMask = 0x10,
  kOther = 0x20,
};

struct Entry {
  uint16_t tag = 0;
  uint16_t perm = 0;  // rwx in the low three bits
  uint32_t id = 0;    // user or group id for kUser/kGroup
};

using Acl = std::vector<Entry>;

// The entries of an xattr value; nullopt when it is not a valid ACL (wrong
// version or size, a required entry missing or repeated, a mask missing
// where named entries need one, permission bits beyond rwx).
std::optional<Acl> parse(std::string_view value);
std::string serialize(const Acl& acl);

// Only the owner, group and other entries: the mode says all of it.
bool is_minimal(const Acl& acl);

// The rwxrwxrwx bits the ACL gives: owner, mask (or group without a mask), other.
mode_t permission_bits(const Acl& acl);

// chmod: owner, mask (or group) and other entries take the mode's bits.
void apply_mode(Acl* acl, mode_t mode);

// A new inode made with permission bits `mode` under a directory whose
// default ACL is `*acl`: the ACL becomes the inode's access ACL, each of its
// owner, mask (or group) and other entries limited by the mode and the mode
// by them. Returns the new permission bits (the mode's other bits kept).
mode_t inherit(Acl* acl, mode_t mode);

}  // namespace hoardfs::acl
