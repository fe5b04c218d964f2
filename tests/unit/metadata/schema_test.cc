// The schema's additions after version 1: what a mount asks of them, and
// that a database made before them gains them.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "metadata/schema.h"
#include "metadata/sqlite.h"

namespace hoardfs {
namespace {

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("hoardfs-schema-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    ASSERT_TRUE(db_.open(path_.string(), true).is_ok());
    create_schema(db_);
  }
  void TearDown() override {
    db_.close();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  void set_xattr(int64_t ino, std::string_view name) {
    db_.prepare("INSERT INTO xattrs(inode, name, value) VALUES (?, ?, 'v')").bind(ino, name).run();
  }
  bool any_capability() { return db_.prepare(kAnyCapabilitySql).step(); }
  // What SQLite plans for kAnyCapabilitySql, all steps in one line.
  std::string capability_plan() {
    const std::string sql = std::string("EXPLAIN QUERY PLAN ") + kAnyCapabilitySql;
    sql::Statement st = db_.prepare(sql.c_str());
    std::string plan;
    while (st.step()) plan += st.text(3) + ";";
    return plan;
  }
  bool has_index(const char* name) {
    return db_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = CAST(? AS TEXT)").bind(std::string_view(name)).step();
  }

  std::filesystem::path path_;
  sql::Database db_;
};

TEST_F(SchemaTest, TheCapabilityQuestionReadsOnlyThePartialIndex) {
  // Other attributes, stored as the daemon stores names (BLOBs).
  for (int64_t ino = 2; ino < 2000; ++ino) set_xattr(ino, "user.comment");
  EXPECT_FALSE(any_capability());
  set_xattr(1500, "security.capability");
  EXPECT_TRUE(any_capability());
  // Without the index, or with a WHERE that no longer matches its
  // condition, SQLite scans the table.
  EXPECT_EQ(capability_plan(), "SCAN xattrs USING COVERING INDEX xattrs_capabilities;");
}

TEST_F(SchemaTest, ADatabaseFromBeforeTheIndexGainsIt) {
  db_.exec("DROP INDEX xattrs_capabilities");
  set_xattr(7, "security.capability");
  ASSERT_TRUE(add_new_tables(db_).is_ok());
  EXPECT_TRUE(has_index("xattrs_capabilities"));
  EXPECT_TRUE(any_capability());
  EXPECT_EQ(capability_plan(), "SCAN xattrs USING COVERING INDEX xattrs_capabilities;");
  // A second time changes nothing.
  EXPECT_TRUE(add_new_tables(db_).is_ok());
}

}  // namespace
}  // namespace hoardfs
