// sql::Transaction: top-level transactions, savepoints inside a batch, and
// operations that join the batch without a savepoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "metadata/sqlite.h"

namespace hoardfs::sql {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("hoardfs-txn-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    ASSERT_TRUE(db_.open(path_.string(), true).is_ok());
    db_.exec("CREATE TABLE t (v INTEGER)");
  }
  void TearDown() override {
    db_.close();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  void insert(int v) { db_.prepare("INSERT INTO t(v) VALUES (?)").bind(v).run(); }
  int64_t rows() {
    Statement st = db_.prepare("SELECT COUNT(*) FROM t");
    st.step();
    return st.int64(0);
  }
  // An operation in a Transaction with `nesting` that throws after one insert.
  void failing_operation(Transaction::Nesting nesting) {
    try {
      Transaction txn(db_, nesting);
      insert(1);
      throw std::runtime_error("part way");
    } catch (const std::runtime_error&) {
    }
  }

  std::filesystem::path path_;
  Database db_;
};

TEST_F(TransactionTest, AtTopLevelBothKindsAreWholeTransactions) {
  int64_t committed = 0;
  for (auto nesting : {Transaction::Nesting::kSavepoint, Transaction::Nesting::kJoin}) {
    failing_operation(nesting);
    EXPECT_FALSE(db_.in_transaction());
    EXPECT_EQ(rows(), committed);  // rolled back
    {
      Transaction txn(db_, nesting);
      insert(2);
      txn.commit();
    }
    EXPECT_FALSE(db_.in_transaction());
    EXPECT_EQ(rows(), ++committed);
  }
}

TEST_F(TransactionTest, InsideABatchASavepointUndoesOnlyItsOperation) {
  db_.exec(Database::Txn::kBegin);
  insert(0);
  failing_operation(Transaction::Nesting::kSavepoint);
  EXPECT_TRUE(db_.in_transaction());
  EXPECT_EQ(rows(), 1);
  db_.exec(Database::Txn::kCommit);
  EXPECT_EQ(rows(), 1);
}

TEST_F(TransactionTest, InsideABatchAJoiningOperationKeepsWhatRanBeforeAFailure) {
  db_.exec(Database::Txn::kBegin);
  insert(0);
  {
    Transaction txn(db_, Transaction::Nesting::kJoin);
    insert(1);
    txn.commit();
    EXPECT_TRUE(db_.in_transaction());  // its commit leaves the batch open
  }
  failing_operation(Transaction::Nesting::kJoin);
  EXPECT_TRUE(db_.in_transaction());
  EXPECT_EQ(rows(), 3);
  db_.exec(Database::Txn::kCommit);
  EXPECT_EQ(rows(), 3);
}

}  // namespace
}  // namespace hoardfs::sql
