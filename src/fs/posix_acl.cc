#include "fs/posix_acl.h"

#include <endian.h>
#include <sys/stat.h>

#include <cstring>

namespace hoardfs::acl {

namespace {
constexpr uint32_t kVersion = 2;
constexpr size_t kHeaderBytes = 4;
constexpr size_t kEntryBytes = 8;
constexpr uint32_t kUndefinedId = 0xffffffff;

const Entry* find(const Acl& acl, uint16_t tag) {
  for (const Entry& e : acl) {
    if (e.tag == tag) return &e;
  }
  return nullptr;
}

// The entry that stands for the group class: the mask, or the owning group
// when there is no mask.
const Entry* group_class(const Acl& acl) {
  const Entry* mask = find(acl, kMask);
  return mask != nullptr ? mask : find(acl, kGroupObj);
}

Entry* find(Acl* acl, uint16_t tag) { return const_cast<Entry*>(find(*acl, tag)); }
Entry* group_class(Acl* acl) { return const_cast<Entry*>(group_class(*acl)); }
}  // namespace

std::optional<Acl> parse(std::string_view value) {
  if (value.size() < kHeaderBytes || (value.size() - kHeaderBytes) % kEntryBytes != 0) return std::nullopt;
  uint32_t version = 0;
  std::memcpy(&version, value.data(), sizeof version);
  if (le32toh(version) != kVersion) return std::nullopt;
  Acl acl;
  int user_obj = 0, group_obj = 0, other = 0, mask = 0, named = 0;
  for (size_t at = kHeaderBytes; at < value.size(); at += kEntryBytes) {
    uint16_t tag = 0, perm = 0;
    uint32_t id = 0;
    std::memcpy(&tag, value.data() + at, 2);
    std::memcpy(&perm, value.data() + at + 2, 2);
    std::memcpy(&id, value.data() + at + 4, 4);
    Entry e{le16toh(tag), le16toh(perm), le32toh(id)};
    if (e.perm & ~7u) return std::nullopt;
    switch (e.tag) {
      case kUserObj: ++user_obj; break;
      case kGroupObj: ++group_obj; break;
      case kOther: ++other; break;
      case kMask: ++mask; break;
      case kUser:
      case kGroup: ++named; break;
      default: return std::nullopt;
    }
    acl.push_back(e);
  }
  if (user_obj != 1 || group_obj != 1 || other != 1 || mask > 1 || (named > 0 && mask == 0)) return std::nullopt;
  return acl;
}

std::string serialize(const Acl& acl) {
  std::string out(kHeaderBytes + acl.size() * kEntryBytes, '\0');
  const uint32_t version = htole32(kVersion);
  std::memcpy(out.data(), &version, sizeof version);
  size_t at = kHeaderBytes;
  for (const Entry& e : acl) {
    const uint16_t tag = htole16(e.tag), perm = htole16(e.perm);
    const uint32_t id = htole32(e.tag == kUser || e.tag == kGroup ? e.id : kUndefinedId);
    std::memcpy(out.data() + at, &tag, 2);
    std::memcpy(out.data() + at + 2, &perm, 2);
    std::memcpy(out.data() + at + 4, &id, 4);
    at += kEntryBytes;
  }
  return out;
}

bool is_minimal(const Acl& acl) {
  for (const Entry& e : acl) {
    if (e.tag != kUserObj && e.tag != kGroupObj && e.tag != kOther) return false;
  }
  return true;
}

mode_t permission_bits(const Acl& acl) {
  const Entry* owner = find(acl, kUserObj);
  const Entry* group = group_class(acl);
  const Entry* other = find(acl, kOther);
  return static_cast<mode_t>((owner ? owner->perm : 0) << 6 | (group ? group->perm : 0) << 3 |
                             (other ? other->perm : 0));
}

void apply_mode(Acl* acl, mode_t mode) {
  if (Entry* e = find(acl, kUserObj)) e->perm = (mode >> 6) & 7;
  if (Entry* e = group_class(acl)) e->perm = (mode >> 3) & 7;
  if (Entry* e = find(acl, kOther)) e->perm = mode & 7;
}

mode_t inherit(Acl* acl, mode_t mode) {
  mode_t bits = mode & 0777;
  // Each class entry keeps only what the mode allows, and the mode only what
  // the entry allows.
  auto limit = [&](Entry* e, int shift) {
    if (e == nullptr) return;
    e->perm &= (bits >> shift) & 7;
    bits &= ~(static_cast<mode_t>(7) << shift) | (static_cast<mode_t>(e->perm) << shift);
  };
  limit(find(acl, kUserObj), 6);
  limit(group_class(acl), 3);
  limit(find(acl, kOther), 0);
  return (mode & ~static_cast<mode_t>(0777)) | bits;
}

}  // namespace hoardfs::acl
