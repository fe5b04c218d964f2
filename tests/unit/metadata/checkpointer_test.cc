// sql::Checkpointer: the WAL is checkpointed by its own thread, not by the
// commit that fills it, and the database keeps every committed row.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "metadata/sqlite.h"

namespace hoardfs::sql {
namespace {

class CheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("hoardfs-ckpt-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                                                      ".db");
    remove_files();
    ASSERT_TRUE(db_.open(path_.string(), true).is_ok());
    db_.exec("CREATE TABLE t (v BLOB)");
    db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  void TearDown() override {
    db_.close();
    remove_files();
  }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  // `commits` commits of `rows` rows of about a page each.
  void commit_rows(int commits, int rows = 1) {
    for (int i = 0; i < commits; ++i) {
      Transaction txn(db_);
      for (int j = 0; j < rows; ++j) db_.prepare("INSERT INTO t(v) VALUES (zeroblob(3000))").run();
    }
  }
  int64_t rows() {
    Statement st = db_.prepare("SELECT COUNT(*) FROM t");
    st.step();
    return st.int64(0);
  }
  uint64_t file_size() { return std::filesystem::file_size(path_); }

  std::filesystem::path path_;
  Database db_;
};

TEST_F(CheckpointerTest, AFullLogIsCopiedIntoTheDatabaseAside) {
  Checkpointer checkpointer(50);
  checkpointer.start(db_, path_.string());
  const uint64_t before = file_size();
  commit_rows(10);  // under 50 pages: no checkpoint yet
  EXPECT_EQ(checkpointer.wait_for_checkpoints(1, std::chrono::milliseconds(0)), 0u);
  EXPECT_EQ(file_size(), before);
  commit_rows(1, 100);  // one commit past 50 pages: one checkpoint, of all of it
  ASSERT_GE(checkpointer.wait_for_checkpoints(1, std::chrono::seconds(30)), 1u);
  // The pages the log held are in the database file now.
  EXPECT_GT(file_size(), before + 100 * 4096);
  EXPECT_EQ(rows(), 110);
  checkpointer.stop();
  commit_rows(10);
  EXPECT_EQ(rows(), 120);
}

TEST_F(CheckpointerTest, TheLogStaysBoundedUnderSteadyCommits) {
  Checkpointer checkpointer(50);
  checkpointer.start(db_, path_.string());
  // Back to back, as the filesystem's group commits come under load: each
  // begins before the checkpoint aside of the one before it can finish.
  commit_rows(2000);
  EXPECT_EQ(rows(), 2000);
  const uint64_t wal = std::filesystem::file_size(path_.string() + "-wal");
  // At most the limit (4 x 50 pages) and the commit that crossed it, with
  // each frame's header, rather than a frame for every commit.
  EXPECT_LT(wal, 260u * (4096 + 24)) << "the log was never started over";
}

TEST_F(CheckpointerTest, StoppedItLeavesCheckpointsToSqlite) {
  {
    Checkpointer checkpointer(50);
    checkpointer.start(db_, path_.string());
  }  // stopped by its destructor
  const uint64_t before = file_size();
  sqlite3_wal_autocheckpoint(db_.handle(), 50);  // as stop() left it, with a smaller log
  commit_rows(100);
  EXPECT_GT(file_size(), before + 40 * 4096);  // the commits checkpointed by themselves
  EXPECT_EQ(rows(), 100);
}

}  // namespace
}  // namespace hoardfs::sql
