// Names, attributes and xattrs through direct calls.
#include <linux/fs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

class NamespaceTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    mount();
  }
  std::set<std::string> list(uint64_t dir) {
    std::set<std::string> names;
    uint64_t fh = 0;
    EXPECT_EQ(fs_->opendir(dir, &fh), 0);
    EXPECT_EQ(fs_->readdir(dir, fh, 0, [&](std::string_view name, uint64_t, mode_t, uint64_t) {
      names.insert(std::string(name));
      return true;
    }), 0);
    return names;
  }
};

TEST_F(NamespaceTest, CreateLookupAndDirectoryLinkCounts) {
  uint64_t d = mkdir(kRootInode, "dir");
  EXPECT_EQ(attr(kRootInode).st_nlink, 3u);
  EXPECT_EQ(attr(d).st_nlink, 2u);
  create(d, "f");
  EXPECT_EQ(list(d), (std::set<std::string>{".", "..", "f"}));
  struct stat st {};
  EXPECT_EQ(fs_->mkdir(kRootInode, "dir", 0755, caller_, &st), EEXIST);
  EXPECT_EQ(fs_->rmdir(kRootInode, "dir"), ENOTEMPTY);
  EXPECT_EQ(fs_->unlink(kRootInode, "dir"), EISDIR);
  EXPECT_EQ(fs_->rmdir(d, "f"), ENOTDIR);
  ASSERT_EQ(fs_->unlink(d, "f"), 0);
  ASSERT_EQ(fs_->rmdir(kRootInode, "dir"), 0);
  EXPECT_EQ(attr(kRootInode).st_nlink, 2u);
  EXPECT_EQ(fs_->lookup(kRootInode, std::string(256, 'x'), &st), ENAMETOOLONG);
}

// link() takes its rows from the attribute cache when it can and lets the
// name index refuse a taken name; the refusal must leave the link count and
// the directory as they were, in the cache and in the database.
TEST_F(NamespaceTest, ALinkToATakenNameLeavesTheCountAndTheDirectory) {
  const uint64_t d = mkdir(kRootInode, "dir");
  const uint64_t f = create(d, "f");
  create(d, "taken");
  struct stat st {};
  ASSERT_EQ(fs_->link(f, d, "second", &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  const struct stat dir_before = attr(d);
  EXPECT_EQ(fs_->link(f, d, "taken", &st), EEXIST);
  EXPECT_EQ(fs_->link(f, d, "second", &st), EEXIST);
  EXPECT_EQ(fs_->link(f, f, "x", &st), ENOTDIR);
  EXPECT_EQ(fs_->link(d, kRootInode, "dirlink", &st), EPERM);
  EXPECT_EQ(attr(f).st_nlink, 2u);
  EXPECT_EQ(attr(d).st_mtim.tv_nsec, dir_before.st_mtim.tv_nsec);
  EXPECT_EQ(list(d), (std::set<std::string>{".", "..", "f", "second", "taken"}));
  // The database agrees after a remount (no attribute cache): both names go.
  unmount();
  mount();
  EXPECT_EQ(attr(f).st_nlink, 2u);
  ASSERT_EQ(fs_->unlink(d, "f"), 0);
  EXPECT_EQ(attr(f).st_nlink, 1u);
  ASSERT_EQ(fs_->unlink(d, "second"), 0);
  EXPECT_EQ(fs_->lookup(d, "second", &st), ENOENT);
}

TEST_F(NamespaceTest, ReaddirResumesFromAnOffset) {
  for (int i = 0; i < 50; ++i) create(kRootInode, "f" + std::to_string(i));
  std::vector<std::pair<std::string, uint64_t>> all;
  ASSERT_EQ(fs_->readdir(kRootInode, 0, 0, [&](std::string_view name, uint64_t, mode_t, uint64_t next) {
    all.emplace_back(std::string(name), next);
    return true;
  }), 0);
  ASSERT_EQ(all.size(), 52u);
  // Resume after the 20th entry: exactly the rest comes back.
  std::vector<std::string> rest;
  ASSERT_EQ(fs_->readdir(kRootInode, 0, all[19].second, [&](std::string_view name, uint64_t, mode_t, uint64_t) {
    rest.emplace_back(name);
    return true;
  }), 0);
  ASSERT_EQ(rest.size(), 32u);
  EXPECT_EQ(rest.front(), all[20].first);
}

// A directory larger than the batches a listing is read in, listed the way
// the kernel does it: a bounded number of entries per call, each call
// resuming from the last entry taken. Every name comes once, in one order.
TEST_F(NamespaceTest, ListingALargeDirectoryInPiecesGivesEveryEntryOnce) {
  const uint64_t d = mkdir(kRootInode, "big");
  std::set<std::string> made;
  for (int i = 0; i < 700; ++i) {
    const std::string name = "n" + std::to_string((i * 7919) % 1000);  // created out of name order
    made.insert(name);
    create(d, name);
  }
  uint64_t handle = 0;
  ASSERT_EQ(fs_->opendir(d, &handle), 0);
  ASSERT_NE(handle, 0u);
  // Without a handle (a library caller) and through one (the FUSE adapter).
  for (auto [plus, per_call, fh] : {std::tuple{false, 50, uint64_t{0}}, std::tuple{true, 50, uint64_t{0}},
                                    std::tuple{false, 300, uint64_t{0}}, std::tuple{true, 300, uint64_t{0}},
                                    std::tuple{false, 50, handle}, std::tuple{true, 300, handle}}) {
    std::vector<std::string> seen;
    uint64_t offset = 0;
    for (int calls = 0; calls < 100; ++calls) {
      int budget = per_call;  // what one reply buffer holds
      size_t before = seen.size();
      auto take = [&](std::string_view name, uint64_t next) {
        if (budget-- == 0) return false;
        seen.emplace_back(name);
        offset = next;
        return true;
      };
      int err = plus ? fs_->readdirplus(d, fh, offset, [&](std::string_view name, const struct stat&, uint64_t next) {
        return take(name, next);
      }) : fs_->readdir(d, fh, offset, [&](std::string_view name, uint64_t, mode_t, uint64_t next) {
        return take(name, next);
      });
      ASSERT_EQ(err, 0);
      if (seen.size() == before) break;
    }
    ASSERT_EQ(seen.size(), made.size() + 2) << (plus ? "readdirplus" : "readdir");
    std::set<std::string> names(seen.begin() + 2, seen.end());
    EXPECT_EQ(names, made) << (plus ? "readdirplus" : "readdir");
  }
  ASSERT_EQ(fs_->releasedir(d, handle), 0);
}

// Through a handle the listing is of the entries there when it began (or
// began again at offset 0): one removed meanwhile is not listed, one added
// shows at the next start.
TEST_F(NamespaceTest, AListingThroughAHandleSkipsRemovedEntriesAndStartsOverAtZero) {
  const uint64_t d = mkdir(kRootInode, "dir");
  for (int i = 0; i < 600; ++i) create(d, "f" + std::to_string(i));
  uint64_t handle = 0;
  ASSERT_EQ(fs_->opendir(d, &handle), 0);
  auto list = [&](uint64_t from, size_t budget, uint64_t* offset) {
    std::vector<std::string> names;
    EXPECT_EQ(fs_->readdir(d, handle, from, [&](std::string_view name, uint64_t, mode_t, uint64_t next) {
      if (names.size() == budget) return false;
      if (name != "." && name != "..") names.emplace_back(name);
      *offset = next;
      return true;
    }), 0);
    return names;
  };
  uint64_t offset = 0;
  std::vector<std::string> first = list(0, 100, &offset);
  ASSERT_EQ(first.size(), 100u);
  ASSERT_EQ(fs_->unlink(d, "f500"), 0);
  create(d, "late");
  std::vector<std::string> rest = list(offset, 1000, &offset);
  EXPECT_EQ(first.size() + rest.size(), 599u);
  EXPECT_EQ(std::count(rest.begin(), rest.end(), "f500"), 0);
  EXPECT_EQ(std::count(rest.begin(), rest.end(), "f599"), 1);
  EXPECT_EQ(std::count(rest.begin(), rest.end(), "late"), 0);
  std::vector<std::string> again = list(0, 1000, &offset);
  EXPECT_EQ(again.size(), 600u);
  EXPECT_EQ(std::count(again.begin(), again.end(), "late"), 1);
  ASSERT_EQ(fs_->releasedir(d, handle), 0);
}

TEST_F(NamespaceTest, RenameReplaceNoReplaceAndExchange) {
  uint64_t a = create(kRootInode, "a");
  uint64_t b = create(kRootInode, "b");
  write(a, 0, "AAA");
  write(b, 0, "BBBB");
  EXPECT_EQ(fs_->rename(kRootInode, "a", kRootInode, "b", RENAME_NOREPLACE), EEXIST);
  ASSERT_EQ(fs_->rename(kRootInode, "a", kRootInode, "b", RENAME_EXCHANGE), 0);
  EXPECT_EQ(lookup(kRootInode, "a"), b);
  EXPECT_EQ(lookup(kRootInode, "b"), a);
  ASSERT_EQ(fs_->rename(kRootInode, "a", kRootInode, "b", 0), 0);  // replaces
  EXPECT_EQ(lookup(kRootInode, "a"), 0u);
  EXPECT_EQ(read(lookup(kRootInode, "b")), "BBBB");
  EXPECT_EQ(fs_->rename(kRootInode, "missing", kRootInode, "x", 0), ENOENT);
  EXPECT_EQ(fs_->rename(kRootInode, "b", kRootInode, "c", RENAME_EXCHANGE), ENOENT);
}

TEST_F(NamespaceTest, RenameDirectories) {
  uint64_t d1 = mkdir(kRootInode, "d1");
  uint64_t d2 = mkdir(kRootInode, "d2");
  uint64_t sub = mkdir(d1, "sub");
  create(d2, "file");
  // Not into itself or a descendant.
  EXPECT_EQ(fs_->rename(kRootInode, "d1", sub, "x", 0), EINVAL);
  // Not over a non-empty directory, not a dir over a file or the reverse.
  EXPECT_EQ(fs_->rename(d1, "sub", kRootInode, "d2", 0), ENOTEMPTY);
  EXPECT_EQ(fs_->rename(d1, "sub", d2, "file", 0), ENOTDIR);
  EXPECT_EQ(fs_->rename(d2, "file", d1, "sub", 0), EISDIR);
  // Moving a directory moves its ".." link.
  ASSERT_EQ(fs_->rename(d1, "sub", d2, "sub", 0), 0);
  EXPECT_EQ(attr(d1).st_nlink, 2u);
  EXPECT_EQ(attr(d2).st_nlink, 3u);
  // Replacing an empty directory.
  mkdir(kRootInode, "empty");
  ASSERT_EQ(fs_->rename(kRootInode, "d1", kRootInode, "empty", 0), 0);
  EXPECT_EQ(lookup(kRootInode, "empty"), d1);
  EXPECT_EQ(attr(kRootInode).st_nlink, 4u);  // ., .., d2, empty(d1)
}

TEST_F(NamespaceTest, SymlinksDevicesAndFifos) {
  struct stat st {};
  ASSERT_EQ(fs_->symlink("../some/target", kRootInode, "link", caller_, &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 14);
  std::string target;
  ASSERT_EQ(fs_->readlink(st.st_ino, &target), 0);
  EXPECT_EQ(target, "../some/target");
  ASSERT_EQ(fs_->mknod(kRootInode, "chr", S_IFCHR | 0600, makedev(1, 3), caller_, &st), 0);
  EXPECT_EQ(attr(st.st_ino).st_rdev, makedev(1, 3));
  ASSERT_EQ(fs_->mknod(kRootInode, "fifo", S_IFIFO | 0600, 0, caller_, &st), 0);
  EXPECT_TRUE(S_ISFIFO(attr(st.st_ino).st_mode));
  ASSERT_EQ(fs_->mknod(kRootInode, "sock", S_IFSOCK | 0600, 0, caller_, &st), 0);
  EXPECT_TRUE(S_ISSOCK(attr(st.st_ino).st_mode));
}

TEST_F(NamespaceTest, SetgidDirectoriesPassTheirGroupOn) {
  uint64_t d = mkdir(kRootInode, "shared");
  AttrChanges c;
  c.mode = c.gid = true;
  c.values.st_mode = 02775;
  c.values.st_gid = 1000;
  struct stat st {};
  ASSERT_EQ(fs_->setattr(d, c, caller_, &st), 0);
  ASSERT_EQ(fs_->symlink("t", d, "link", caller_, &st), 0);
  EXPECT_EQ(st.st_gid, 1000u);
  ASSERT_EQ(fs_->mknod(d, "fifo", S_IFIFO | 0644, 0, caller_, &st), 0);
  EXPECT_EQ(st.st_gid, 1000u);
  ASSERT_EQ(fs_->mkdir(d, "sub", 0755, caller_, &st), 0);
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_TRUE(st.st_mode & S_ISGID);
  EXPECT_EQ(attr(create(d, "file")).st_gid, 1000u);
}

TEST_F(NamespaceTest, SetattrKeepsNanosecondTimesAndOwnership) {
  uint64_t a = create(kRootInode, "a");
  AttrChanges c;
  c.mode = c.uid = c.gid = c.atime = c.mtime = true;
  c.values.st_mode = 04711;
  c.values.st_uid = 1234;
  c.values.st_gid = 5678;
  c.values.st_atim = {1000000000, 123456789};
  c.values.st_mtim = {1600000000, 987654321};
  struct stat st {};
  ASSERT_EQ(fs_->setattr(a, c, caller_, &st), 0);
  st = attr(a);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 04711));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 987654321);
}

// With FUSE_CAP_HANDLE_KILLPRIV a chown comes without a mode: the
// filesystem drops what Linux drops on a change of owner.
TEST_F(NamespaceTest, DroppingPrivilegesClearsSetuidAndExecutableSetgid) {
  auto set_mode = [&](uint64_t ino, mode_t mode) {
    AttrChanges c;
    c.mode = true;
    c.values.st_mode = mode;
    struct stat st {};
    ASSERT_EQ(fs_->setattr(ino, c, caller_, &st), 0);
  };
  auto chown_to = [&](uint64_t ino, uid_t uid) {
    AttrChanges c;
    c.uid = true;
    c.drop_privileges = true;
    c.values.st_uid = uid;
    struct stat st {};
    EXPECT_EQ(fs_->setattr(ino, c, caller_, &st), 0);
    return st;
  };
  uint64_t f = create(kRootInode, "f");
  set_mode(f, 07755);
  ASSERT_EQ(fs_->setxattr(f, "security.capability", "caps", 0, caller_), 0);
  ASSERT_EQ(fs_->setxattr(f, "user.keep", "v", 0, caller_), 0);
  struct stat st = chown_to(f, 1000);
  EXPECT_EQ(st.st_mode & 07777, 01755u) << "setuid and setgid go, the sticky bit stays";
  EXPECT_EQ(st.st_uid, 1000u);
  std::string value;
  EXPECT_EQ(fs_->getxattr(f, "security.capability", caller_, &value), ENODATA);
  EXPECT_EQ(fs_->getxattr(f, "user.keep", caller_, &value), 0);

  set_mode(f, 02745);  // setgid without group execute marks mandatory locking: it stays
  EXPECT_EQ(chown_to(f, 1001).st_mode & 07777, 02745u);

  uint64_t d = mkdir(kRootInode, "d");
  set_mode(d, 07755);
  EXPECT_EQ(chown_to(d, 1000).st_mode & 07777, 07755u) << "a directory keeps its bits";

  uint64_t g = create(kRootInode, "g");
  set_mode(g, 06755);
  AttrChanges plain;
  plain.uid = true;
  plain.values.st_uid = 5;
  ASSERT_EQ(fs_->setattr(g, plain, caller_, &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 06755u) << "without drop_privileges the mode is the caller's business";
}

TEST_F(NamespaceTest, AccessFollowsTheModeBits) {
  uint64_t f = create(kRootInode, "f");
  AttrChanges c;
  c.mode = c.uid = c.gid = true;
  c.values.st_mode = 0640;
  c.values.st_uid = 1000;
  c.values.st_gid = 100;
  struct stat st {};
  ASSERT_EQ(fs_->setattr(f, c, caller_, &st), 0);
  Caller root;
  EXPECT_EQ(fs_->access(f, R_OK | W_OK, root), 0);
  EXPECT_EQ(fs_->access(f, X_OK, root), EACCES) << "root too needs an execute bit on a file";
  EXPECT_EQ(fs_->access(kRootInode, X_OK, root), 0) << "but not on a directory";
  Caller owner{.uid = 1000, .gid = 1};
  EXPECT_EQ(fs_->access(f, R_OK | W_OK, owner), 0);
  EXPECT_EQ(fs_->access(f, X_OK, owner), EACCES);
  Caller member{.uid = 2000, .gid = 100};
  EXPECT_EQ(fs_->access(f, R_OK, member), 0);
  EXPECT_EQ(fs_->access(f, W_OK, member), EACCES);
  Caller other{.uid = 3000, .gid = 3000};
  EXPECT_EQ(fs_->access(f, R_OK, other), EACCES);
  EXPECT_EQ(fs_->access(f, F_OK, other), 0);
  EXPECT_EQ(fs_->access(999999, F_OK, root), ENOENT);
}

TEST_F(NamespaceTest, StatfsCountsInodesAndData) {
  uint64_t a = create(kRootInode, "a");
  create(kRootInode, "b");
  mkdir(kRootInode, "d");
  write(a, 0, std::string(2 * kTestBlock, 'x'));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  struct statvfs vfs {};
  ASSERT_EQ(fs_->statfs(&vfs), 0);
  EXPECT_EQ(vfs.f_files - vfs.f_ffree, 4u);  // the root, a, b, d
  EXPECT_EQ((vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize, 2u * kTestBlock);
  EXPECT_EQ(vfs.f_bavail, vfs.f_bfree);
  EXPECT_EQ(vfs.f_namemax, 255u);
}

TEST_F(NamespaceTest, ExtendedAttributes) {
  uint64_t a = create(kRootInode, "a");
  ASSERT_EQ(fs_->setxattr(a, "user.one", std::string("v\0v", 3), 0, caller_), 0);
  EXPECT_EQ(fs_->setxattr(a, "user.one", "x", XATTR_CREATE, caller_), EEXIST);
  EXPECT_EQ(fs_->setxattr(a, "user.two", "x", XATTR_REPLACE, caller_), ENODATA);
  ASSERT_EQ(fs_->setxattr(a, "user.two", "2", 0, caller_), 0);
  std::string value;
  ASSERT_EQ(fs_->getxattr(a, "user.one", caller_, &value), 0);
  EXPECT_EQ(value, std::string("v\0v", 3));
  std::vector<std::string> names;
  ASSERT_EQ(fs_->listxattr(a, &names), 0);
  EXPECT_EQ(names, (std::vector<std::string>{"user.one", "user.two"}));
  ASSERT_EQ(fs_->removexattr(a, "user.one", caller_), 0);
  EXPECT_EQ(fs_->removexattr(a, "user.one", caller_), ENODATA);
  EXPECT_EQ(fs_->getxattr(a, "user.one", caller_, &value), ENODATA);
}

TEST_F(NamespaceTest, ReaddirplusGivesEachEntryItsAttributes) {
  uint64_t d = mkdir(kRootInode, "d");
  uint64_t f = create(d, "file");
  write(f, 0, "twelve bytes");
  uint64_t sub = mkdir(d, "sub");
  std::map<std::string, struct stat> listed;
  ASSERT_EQ(fs_->readdirplus(d, 0, 0, [&](std::string_view name, const struct stat& st, uint64_t) {
    listed[std::string(name)] = st;
    return true;
  }), 0);
  ASSERT_EQ(listed.size(), 4u);
  for (auto [name, ino] : {std::pair<std::string, uint64_t>{"file", f}, {"sub", sub}}) {
    struct stat want = attr(ino);
    EXPECT_EQ(listed[name].st_ino, ino) << name;
    EXPECT_EQ(listed[name].st_mode, want.st_mode) << name;
    EXPECT_EQ(listed[name].st_size, want.st_size) << name;
    EXPECT_EQ(listed[name].st_nlink, want.st_nlink) << name;
    EXPECT_EQ(listed[name].st_mtim.tv_nsec, want.st_mtim.tv_nsec) << name;
  }
  EXPECT_EQ(listed["file"].st_size, 12);
  EXPECT_EQ(listed["."].st_ino, d);
  EXPECT_EQ(listed[".."].st_ino, kRootInode);
  // Each entry listed is a lookup reference: the unlinked file lives on
  // until the kernel forgets it.
  ASSERT_EQ(fs_->unlink(d, "file"), 0);
  struct stat st {};
  EXPECT_EQ(fs_->getattr(f, &st), 0);
  fs_->forget(f, 1);  // create's reference
  EXPECT_EQ(fs_->getattr(f, &st), 0);
  fs_->forget(f, 1);  // readdirplus's
  EXPECT_EQ(fs_->getattr(f, &st), ENOENT);
}

TEST_F(NamespaceTest, PosixAclAttributesAreRefused) {
  // Not enforced and not reflected in the mode, so not stored either: cp -a
  // then falls back to chmod and the copy gets its mode.
  uint64_t a = create(kRootInode, "a");
  const std::string acl("\2\0\0\0\1\0\7\0\377\377\377\377\4\0\5\0\377\377\377\377\40\0\5\0\377\377\377\377", 28);
  EXPECT_EQ(fs_->setxattr(a, "system.posix_acl_access", acl, 0, caller_), EOPNOTSUPP);
  EXPECT_EQ(fs_->setxattr(a, "system.posix_acl_default", acl, 0, caller_), EOPNOTSUPP);
  EXPECT_EQ(fs_->setxattr(a, "security.selinux", "system_u:object_r:tmp_t:s0", 0, caller_), EOPNOTSUPP);
  // Asked for, they are "not supported" (ls remembers that for the whole filesystem).
  std::string value;
  EXPECT_EQ(fs_->getxattr(a, "system.posix_acl_access", caller_, &value), EOPNOTSUPP);
  EXPECT_EQ(fs_->getxattr(a, "security.selinux", caller_, &value), EOPNOTSUPP);
  EXPECT_EQ(fs_->setxattr(a, "security.capability", std::string(20, 'c'), 0, caller_), 0);
  std::vector<std::string> names;
  ASSERT_EQ(fs_->listxattr(a, &names), 0);
  EXPECT_EQ(names, std::vector<std::string>{"security.capability"});
}

TEST_F(NamespaceTest, ControlAttributesOnTheRoot) {
  std::string json;
  ASSERT_EQ(fs_->getxattr(kRootInode, kCtrlStatXattr, caller_, &json), 0);
  EXPECT_NE(json.find("\"dedup_bytes\""), std::string::npos);
  std::vector<std::string> names;
  ASSERT_EQ(fs_->listxattr(kRootInode, &names), 0);
  EXPECT_TRUE(names.empty());  // never copied by rsync -X
  ASSERT_EQ(fs_->setxattr(kRootInode, kCtrlCommandXattr, "flushcache", 0, caller_), 0);
  EXPECT_EQ(fs_->setxattr(kRootInode, kCtrlCommandXattr, "bogus", 0, caller_), EINVAL);
  // Nothing to invalidate (no kernel here): answers at once.
  std::string settled;
  ASSERT_EQ(fs_->getxattr(kRootInode, kCtrlSettledXattr, caller_, &settled), 0);
  EXPECT_EQ(settled, "1");
  EXPECT_EQ(fs_->setxattr(kRootInode, kCtrlSettledXattr, "1", 0, caller_), EPERM);
  Caller stranger;
  stranger.uid = 4242;
  EXPECT_EQ(fs_->setxattr(kRootInode, kCtrlCommandXattr, "flushcache", 0, stranger), EACCES);
}

}  // namespace
}  // namespace hoardfs::testing
