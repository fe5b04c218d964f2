// A thin RAII layer over the SQLite C API: a connection and prepared
// statements with typed bind/column helpers. Not thread-safe by itself; the
// owner serialises access (see Filesystem's metadata mutex).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "hoardfs/status.h"

namespace hoardfs::sql {

// What the wrapper throws: the message and SQLite's extended result code, so
// callers can tell a full disk (SQLITE_FULL) from damage.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  // The disk under the database is full: ENOSPC rather than an I/O error.
  bool disk_full() const { return (code_ & 0xff) == 13 /* SQLITE_FULL */; }

 private:
  int code_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, const char* sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds parameters 1..n in order; resets the statement first.
  template <typename... Args>
  Statement& bind(const Args&... args) {
    reset();
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }
  // Binds parameter `index` alone (after bind() or reset(): no reset here).
  Statement& bind_at(int index, int64_t value) {
    bind_one(index, value);
    return *this;
  }
  // Advances to the next row; false when done. Errors throw sql::Error
  // (caught at the Filesystem boundary and turned into EIO).
  bool step();
  // Runs to completion (for statements that return no rows).
  void run();
  void reset();
  bool prepared() const { return stmt_ != nullptr; }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::string blob(int col) const;

 private:
  void bind_one(int index, int64_t value);
  void bind_one(int index, uint64_t value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, int value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, unsigned value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, long long value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, unsigned long long value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, std::string_view value);  // bound as BLOB
  void bind_one(int index, const std::string& value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, const char* value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, std::nullptr_t);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Told of the rows this connection's statements insert, update or delete
  // in rowid tables (SQLite's update hook: not WITHOUT ROWID tables, not
  // rows an INSERT OR REPLACE displaces), and of every rollback, of a whole
  // transaction or of a savepoint, after which any of those rows may be back
  // as they were. For copies of rows kept outside SQLite. Called inside the
  // statement: it must not use the connection.
  class Observer {
   public:
    virtual ~Observer() = default;
    // `updated`: an UPDATE of the row (else an INSERT or a DELETE).
    virtual void row_changed(const char* table, int64_t rowid, bool updated) = 0;
    virtual void rolled_back() = 0;
  };

  Database() = default;
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status open(const std::string& path, bool create);
  void close();
  sqlite3* handle() const { return db_; }
  // Runs one or more statements without results; throws on error.
  void exec(const char* sql);
  // The statements that open and close every transaction and savepoint,
  // prepared once instead of parsed for each metadata operation.
  enum class Txn { kBegin, kCommit, kSavepoint, kRelease };
  void exec(Txn which);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  Statement prepare(const char* sql) { return Statement(db_, sql); }
  // Copies the whole database to `path` with the online backup API.
  Status backup_to(const std::string& path);
  // One observer at a time (nullptr: none); kept across close() and open().
  void set_observer(Observer* observer);
  // Reports a rollback SQLite's hook does not see: ROLLBACK TO a savepoint.
  void savepoint_rolled_back() {
    if (observer_ != nullptr) observer_->rolled_back();
  }

 private:
  sqlite3* db_ = nullptr;
  Observer* observer_ = nullptr;
  void install_hooks();
  Statement txn_[4];  // by Txn, prepared on first use
};

// Checkpoints a WAL database from a thread and a connection of its own.
// SQLite's automatic checkpoint runs inside the commit that fills the log,
// copying pages and syncing the database file there; whoever commits (for
// the filesystem: under the lock every request takes) waits for that. Here
// the commit only notes the log's size, and a PASSIVE checkpoint, which
// neither waits for nor blocks the owner's readers and writers, runs aside.
//
// That alone lets the log grow without end under a steady stream of
// commits: SQLite starts the log over only in a write transaction whose
// snapshot began with every frame copied, and the owner's next transaction
// begins right after a commit, before the checkpoint of that commit is done.
// So once the log passes four times `pages`, the commit finishes the
// checkpoint itself (after the one aside, which did most of the copying),
// as SQLite's automatic checkpoint would have, and the next transaction
// starts the log over.
class Checkpointer {
 public:
  // Checkpoints once the log holds `pages` pages (SQLite's default: 1000).
  explicit Checkpointer(int pages = 1000) : pages_(pages), limit_pages_(4 * pages) {}
  ~Checkpointer() { stop(); }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Takes over the checkpoints of `db`, open on the file `path`.
  void start(Database& db, const std::string& path);
  // Ends the thread and gives `db` back its automatic checkpoints.
  void stop();
  // Waits until `count` checkpoints have completed, or `timeout` passed;
  // returns how many have (for tests).
  uint64_t wait_for_checkpoints(uint64_t count, std::chrono::milliseconds timeout) const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void loop();

  const int pages_;
  const int limit_pages_;  // the commit checkpoints from here on
  Database* db_ = nullptr;
  std::string path_;
  std::thread thread_;
  mutable std::mutex mu_;  // protects the four below
  std::condition_variable wake_;
  mutable std::condition_variable done_;  // a checkpoint aside ended
  bool due_ = false;
  bool running_ = false;  // a checkpoint aside is under way
  bool stop_ = false;
  uint64_t checkpoints_ = 0;
};

// Commits on destruction unless rolled back; a thrown exception rolls back.
// Inside an open transaction (a batch of several operations) it is a
// savepoint: its changes join the outer transaction when it ends, and a
// thrown exception undoes just them. With Nesting::kJoin it is nothing
// there: the statements join the outer transaction directly, which spares
// the savepoint's journal (a copy of every page the operation touches), and
// a failure part way keeps the statements that ran before it. For operations
// whose writes are ordered so that any prefix of them is harmless.
class Transaction {
 public:
  enum class Nesting { kSavepoint, kJoin };
  explicit Transaction(Database& db, Nesting nesting = Nesting::kSavepoint);
  ~Transaction();
  void commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Database& db_;
  bool done_ = false;
  bool nested_ = false;
  int uncaught_ = 0;

  void rollback() noexcept;  // undoes this transaction or savepoint, errors ignored
};

}  // namespace hoardfs::sql
