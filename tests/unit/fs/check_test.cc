// Filesystem::check() (fsck.hoardfs): a clean filesystem stays untouched;
// damage is repaired once and a second check finds nothing.
#include <sqlite3.h>

#include "fs_test_util.h"

namespace hoardfs::testing {
namespace {

class CheckTest : public FsTest {
 protected:
  CheckReport check() {
    CheckReport report;
    Status status = fs_->check(&report);
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return report;
  }
  // Runs SQL on the cache's database while nothing is mounted.
  void edit_database(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((options_.cache_dir + "/metadata.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  static std::string joined(const std::vector<std::string>& lines) {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }
};

TEST_F(CheckTest, CleanFilesystemNeedsNoRepair) {
  mount();
  uint64_t dir = mkdir(kRootInode, "dir");
  write(create(dir, "file"), 0, random_bytes(3 * kTestBlock));
  auto report = check();
  EXPECT_TRUE(report.repaired.empty()) << joined(report.repaired);
  EXPECT_TRUE(report.unrepairable.empty()) << joined(report.unrepairable);
}

TEST_F(CheckTest, MissingObjectMovesTheFileToLostAndFoundWithAHole) {
  mount();
  const std::string a = random_bytes(kTestBlock), b = random_bytes(kTestBlock);
  uint64_t f = create(kRootInode, "victim");
  write(f, 0, a + b);
  write(create(kRootInode, "bystander"), 0, random_bytes(kTestBlock));
  ASSERT_TRUE(fs_->flush_cache().is_ok());
  unmount();
  // The object that holds the second block of "victim".
  std::vector<ObjectInfo> objects;
  ASSERT_TRUE(list_all(*backend_, object_names::kDataPrefix, &objects).is_ok());
  ASSERT_EQ(objects.size(), 3u);
  ObjectCodec codec(keys_, 3);
  std::string victim_object;
  for (const auto& o : objects) {
    std::string stored, plain;
    ASSERT_TRUE(backend_->get(o.key, &stored).is_ok());
    ASSERT_TRUE(codec.decode(o.key, stored, &plain).is_ok());
    if (plain == b) victim_object = o.key;
  }
  ASSERT_FALSE(victim_object.empty());
  drop_cache();
  ASSERT_TRUE(backend_->remove({victim_object}).is_ok());

  mount();
  auto report = check();
  const std::string all = joined(report.repaired);
  EXPECT_NE(all.find(victim_object), std::string::npos) << all;
  EXPECT_NE(all.find("/victim"), std::string::npos) << all;
  EXPECT_EQ(lookup(kRootInode, "victim"), 0u);
  uint64_t lost = lookup(kRootInode, "lost+found");
  ASSERT_NE(lost, 0u);
  uint64_t moved = lookup(lost, "inode-" + std::to_string(f));
  ASSERT_EQ(moved, f);
  EXPECT_EQ(read(f), a + std::string(kTestBlock, '\0'));
  EXPECT_NE(lookup(kRootInode, "bystander"), 0u);

  auto again = check();
  EXPECT_TRUE(again.repaired.empty()) << joined(again.repaired);
  unmount();
  drop_cache();
  mount();  // the repair reached the backend
  EXPECT_EQ(read(lookup(lost, "inode-" + std::to_string(f))), a + std::string(kTestBlock, '\0'));
}

TEST_F(CheckTest, UnreferencedObjectsAreDeleted) {
  mount();
  write(create(kRootInode, "f"), 0, random_bytes(kTestBlock));
  ASSERT_TRUE(backend_->put("data/ab/abababababababababababababababab", "cut off by a crash").is_ok());
  auto report = check();
  EXPECT_NE(joined(report.repaired).find("deleted 1 data object"), std::string::npos) << joined(report.repaired);
  ObjectInfo info;
  EXPECT_TRUE(backend_->head("data/ab/abababababababababababababababab", &info).is_not_found());
  EXPECT_EQ(count_objects(object_names::kDataPrefix), 1u);
  EXPECT_TRUE(check().repaired.empty());
}

TEST_F(CheckTest, DatabaseDamageIsRepaired) {
  mount();
  uint64_t dir = mkdir(kRootInode, "dir");
  uint64_t f = create(dir, "file");
  write(f, 0, random_bytes(2 * kTestBlock));
  uint64_t g = create(kRootInode, "orphan");
  unmount();
  edit_database(
      "UPDATE blocks SET refcount = refcount + 5;"
      "UPDATE inodes SET nlink = 7 WHERE id = " + std::to_string(f) + ";"
      "DELETE FROM dentries WHERE inode = " + std::to_string(g) + ";"
      "INSERT INTO dentries(parent, name, inode) VALUES (1, 'dangling', 99999);");
  mount();
  auto report = check();
  const std::string all = joined(report.repaired);
  EXPECT_NE(all.find("reference count of block"), std::string::npos) << all;
  EXPECT_NE(all.find("link count of /dir/file was 7, is 1"), std::string::npos) << all;
  EXPECT_NE(all.find("'dangling'"), std::string::npos) << all;
  EXPECT_NE(all.find("inode " + std::to_string(g)), std::string::npos) << all;
  EXPECT_EQ(lookup(kRootInode, "dangling"), 0u);
  EXPECT_EQ(lookup(lookup(kRootInode, "lost+found"), "inode-" + std::to_string(g)), g);
  EXPECT_EQ(attr(f).st_nlink, 1u);
  EXPECT_TRUE(check().repaired.empty()) << joined(check().repaired);
}

}  // namespace
}  // namespace hoardfs::testing
