// POSIX ACLs: the xattr format and the mode rules (posix_acl.h), and the
// filesystem keeping ACLs and modes in step under MountOptions::posix_acl.
#include <sys/stat.h>

#include "fs/posix_acl.h"
#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

using acl::Acl;
using acl::Entry;

// user::rw- user:1000:rwx group::r-x group:50:r-- mask::rwx other::r--
Acl extended() {
  return {{acl::kUserObj, 6, 0}, {acl::kUser, 7, 1000}, {acl::kGroupObj, 5, 0},
          {acl::kGroup, 4, 50},  {acl::kMask, 7, 0},    {acl::kOther, 4, 0}};
}

Acl minimal(mode_t mode) {
  return {{acl::kUserObj, static_cast<uint16_t>((mode >> 6) & 7), 0},
          {acl::kGroupObj, static_cast<uint16_t>((mode >> 3) & 7), 0},
          {acl::kOther, static_cast<uint16_t>(mode & 7), 0}};
}

uint16_t perm_of(const Acl& a, uint16_t tag) {
  for (const Entry& e : a) {
    if (e.tag == tag) return e.perm;
  }
  return 0xffff;
}

TEST(PosixAcl, SerializeAndParseRoundTrip) {
  const std::string value = acl::serialize(extended());
  ASSERT_EQ(value.size(), 4u + 6 * 8);
  EXPECT_EQ(value.substr(0, 4), std::string("\2\0\0\0", 4));
  // The owner entry's id is "undefined" on the wire, the named user's is its uid.
  EXPECT_EQ(value.substr(4, 8), std::string("\1\0\6\0\377\377\377\377", 8));
  EXPECT_EQ(value.substr(12, 8), std::string("\2\0\7\0\350\3\0\0", 8));
  auto parsed = acl::parse(value);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(acl::serialize(*parsed), value);
}

TEST(PosixAcl, ParseRefusesWhatIsNotAnAcl) {
  const std::string good = acl::serialize(extended());
  EXPECT_FALSE(acl::parse(""));
  EXPECT_FALSE(acl::parse(good.substr(0, good.size() - 1)));  // not whole entries
  std::string version = good;
  version[0] = 1;
  EXPECT_FALSE(acl::parse(version));
  std::string perm = good;
  perm[6] = 8;  // the owner entry's permission beyond rwx
  EXPECT_FALSE(acl::parse(perm));
  Acl no_mask = extended();
  no_mask.erase(no_mask.begin() + 4);  // named entries need a mask
  EXPECT_FALSE(acl::parse(acl::serialize(no_mask)));
  Acl two_owners = minimal(0644);
  two_owners.push_back({acl::kUserObj, 7, 0});
  EXPECT_FALSE(acl::parse(acl::serialize(two_owners)));
  Acl no_other = minimal(0644);
  no_other.pop_back();
  EXPECT_FALSE(acl::parse(acl::serialize(no_other)));
  EXPECT_TRUE(acl::parse(acl::serialize(minimal(0640))));
}

TEST(PosixAcl, ModeBitsComeFromOwnerMaskAndOther) {
  EXPECT_EQ(acl::permission_bits(extended()), 0674u);  // the mask, not the owning group, is the group class
  EXPECT_EQ(acl::permission_bits(minimal(0751)), 0751u);
  EXPECT_TRUE(acl::is_minimal(minimal(0751)));
  EXPECT_FALSE(acl::is_minimal(extended()));
}

TEST(PosixAcl, ChmodRewritesTheClassEntries) {
  Acl a = extended();
  acl::apply_mode(&a, 0640);
  EXPECT_EQ(perm_of(a, acl::kUserObj), 6);
  EXPECT_EQ(perm_of(a, acl::kMask), 4);
  EXPECT_EQ(perm_of(a, acl::kGroupObj), 5);  // behind the mask: unchanged
  EXPECT_EQ(perm_of(a, acl::kUser), 7);
  EXPECT_EQ(perm_of(a, acl::kOther), 0);
  Acl m = minimal(0777);
  acl::apply_mode(&m, 0750);
  EXPECT_EQ(perm_of(m, acl::kGroupObj), 5);  // no mask: the owning group is the class
}

TEST(PosixAcl, InheritLimitsBothTheAclAndTheMode) {
  // A default ACL with a named user and other::---, and a file made 0666:
  // the mask keeps rw (the mode's group bits), other stays empty.
  Acl a = {{acl::kUserObj, 7, 0}, {acl::kUser, 7, 1000}, {acl::kGroupObj, 5, 0},
           {acl::kMask, 7, 0},    {acl::kOther, 0, 0}};
  EXPECT_EQ(acl::inherit(&a, S_IFREG | 0666), static_cast<mode_t>(S_IFREG | 0660));
  EXPECT_EQ(perm_of(a, acl::kUserObj), 6);
  EXPECT_EQ(perm_of(a, acl::kMask), 6);
  EXPECT_EQ(perm_of(a, acl::kUser), 7);
  EXPECT_EQ(perm_of(a, acl::kOther), 0);
  // Without a mask the owning group entry is limited instead; setuid bits stay.
  Acl m = minimal(0750);
  EXPECT_EQ(acl::inherit(&m, S_IFDIR | S_ISGID | 0777), static_cast<mode_t>(S_IFDIR | S_ISGID | 0750));
  EXPECT_EQ(perm_of(m, acl::kGroupObj), 5);
}

class AclFsTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    options_.posix_acl = true;
    mount();
  }
  std::string xattr(uint64_t ino, std::string_view name) {
    std::string value;
    int err = fs_->getxattr(ino, name, caller_, &value);
    return err == 0 ? value : "errno " + std::to_string(err);
  }
  void chmod(uint64_t ino, mode_t mode) {
    AttrChanges changes;
    changes.mode = true;
    changes.values.st_mode = mode;
    struct stat st {};
    ASSERT_EQ(fs_->setattr(ino, changes, caller_, &st), 0);
  }
};

TEST_F(AclFsTest, AnAccessAclSetsTheModeAndFollowsChmod) {
  uint64_t f = create(kRootInode, "f", 0644);
  ASSERT_EQ(fs_->setxattr(f, acl::kAccessXattr, acl::serialize(extended()), 0, caller_), 0);
  EXPECT_EQ(attr(f).st_mode & 07777, 0674u);
  EXPECT_EQ(xattr(f, acl::kAccessXattr), acl::serialize(extended()));
  chmod(f, 0640);
  auto after = acl::parse(xattr(f, acl::kAccessXattr));
  ASSERT_TRUE(after);
  EXPECT_EQ(perm_of(*after, acl::kMask), 4);
  EXPECT_EQ(perm_of(*after, acl::kOther), 0);
  EXPECT_EQ(perm_of(*after, acl::kUser), 7);
  // An ACL the mode says in full is not kept: only the mode changes.
  ASSERT_EQ(fs_->setxattr(f, acl::kAccessXattr, acl::serialize(minimal(0600)), 0, caller_), 0);
  EXPECT_EQ(attr(f).st_mode & 07777, 0600u);
  EXPECT_EQ(xattr(f, acl::kAccessXattr), "errno " + std::to_string(ENODATA));
  std::vector<std::string> names;
  ASSERT_EQ(fs_->listxattr(f, &names), 0);
  EXPECT_TRUE(names.empty());
  // Not an ACL; a default ACL on a file.
  EXPECT_EQ(fs_->setxattr(f, acl::kAccessXattr, "junk", 0, caller_), EINVAL);
  EXPECT_EQ(fs_->setxattr(f, acl::kDefaultXattr, acl::serialize(extended()), 0, caller_), EACCES);
}

TEST_F(AclFsTest, NewInodesInheritTheDefaultAclAndIgnoreTheUmask) {
  uint64_t d = mkdir(kRootInode, "d");
  Acl dflt = {{acl::kUserObj, 7, 0}, {acl::kUser, 7, 1000}, {acl::kGroupObj, 5, 0},
              {acl::kMask, 7, 0},    {acl::kOther, 0, 0}};
  ASSERT_EQ(fs_->setxattr(d, acl::kDefaultXattr, acl::serialize(dflt), 0, caller_), 0);
  caller_.apply_umask = true;
  caller_.umask = 077;  // would leave 0600; a default ACL takes its place
  uint64_t f = create(d, "f", 0666);
  EXPECT_EQ(attr(f).st_mode & 07777, 0660u);
  auto access = acl::parse(xattr(f, acl::kAccessXattr));
  ASSERT_TRUE(access);
  EXPECT_EQ(perm_of(*access, acl::kUser), 7);
  EXPECT_EQ(perm_of(*access, acl::kMask), 6);
  EXPECT_EQ(xattr(f, acl::kDefaultXattr), "errno " + std::to_string(ENODATA));  // files get none
  struct stat st {};
  ASSERT_EQ(fs_->mkdir(d, "sub", 0777, caller_, &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0770u);
  EXPECT_EQ(xattr(st.st_ino, acl::kDefaultXattr), acl::serialize(dflt));  // directories pass it on
  // Outside the directory: the umask applies.
  uint64_t g = create(kRootInode, "g", 0666);
  EXPECT_EQ(attr(g).st_mode & 07777, 0600u);
  EXPECT_EQ(xattr(g, acl::kAccessXattr), "errno " + std::to_string(ENODATA));
}

TEST_F(AclFsTest, AclsSurviveARemountWithoutCache) {
  uint64_t f = create(kRootInode, "f");
  ASSERT_EQ(fs_->setxattr(f, acl::kAccessXattr, acl::serialize(extended()), 0, caller_), 0);
  unmount();
  drop_cache();
  mount();
  f = lookup(kRootInode, "f");
  EXPECT_EQ(xattr(f, acl::kAccessXattr), acl::serialize(extended()));
  EXPECT_EQ(attr(f).st_mode & 07777, 0674u);
  // Mounted without ACLs, they are neither shown nor settable.
  unmount();
  options_.posix_acl = false;
  mount();
  f = lookup(kRootInode, "f");
  EXPECT_EQ(xattr(f, acl::kAccessXattr), "errno " + std::to_string(EOPNOTSUPP));
  std::vector<std::string> names;
  ASSERT_EQ(fs_->listxattr(f, &names), 0);
  EXPECT_TRUE(names.empty());
}

}  // namespace
}  // namespace hoardfs::testing
