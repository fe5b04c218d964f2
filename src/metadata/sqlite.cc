#include "metadata/sqlite.h"

#include <exception>
#include <stdexcept>

namespace hoardfs::sql {

Statement::Statement(sqlite3* db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db) + " in " + sql);
  }
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = std::string("sqlite step: ") + sqlite3_errmsg(db_);
  int code = sqlite3_extended_errcode(db_);
  sqlite3_reset(stmt_);
  throw Error(msg, code);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p),
                                                    static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Statement::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

void Statement::bind_one(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::bind_one(int index, std::string_view value) {
  sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
}

void Statement::bind_one(int index, std::nullptr_t) { sqlite3_bind_null(stmt_, index); }

Database::~Database() { close(); }

Status Database::open(const std::string& path, bool create) {
  // SQLite's memory statistics take a global mutex on every allocation; we
  // never read them. The setting only takes before SQLite initializes, which
  // the first open does.
  [[maybe_unused]] static const bool configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    close();
    return Status::io_error("cannot open database " + path + ": " + msg);
  }
  // Another connection (a Checkpointer's) can hold the log's locks for a
  // moment; without a busy handler a statement would fail with SQLITE_BUSY.
  sqlite3_busy_timeout(db_, 10000);
  install_hooks();
  try {
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
         "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;");
  } catch (const std::exception& e) {
    close();
    return Status::io_error(std::string("cannot configure database ") + path + ": " + e.what());
  }
  return Status::ok();
}

void Database::close() {
  for (Statement& st : txn_) st = Statement();
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

void Database::set_observer(Observer* observer) {
  observer_ = observer;
  if (db_ != nullptr) install_hooks();
}

void Database::install_hooks() {
  if (observer_ == nullptr) {
    sqlite3_update_hook(db_, nullptr, nullptr);
    sqlite3_rollback_hook(db_, nullptr, nullptr);
    return;
  }
  sqlite3_update_hook(
      db_,
      [](void* self, int op, const char* /*schema*/, const char* table, sqlite3_int64 rowid) {
        static_cast<Database*>(self)->observer_->row_changed(table, rowid, op == SQLITE_UPDATE);
      },
      this);
  sqlite3_rollback_hook(db_, [](void* self) { static_cast<Database*>(self)->observer_->rolled_back(); }, this);
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    throw Error("sqlite: " + msg, sqlite3_extended_errcode(db_));
  }
}

void Database::exec(Txn which) {
  static constexpr const char* kSql[] = {"BEGIN IMMEDIATE", "COMMIT", "SAVEPOINT op", "RELEASE op"};
  const auto index = static_cast<size_t>(which);
  Statement& st = txn_[index];
  if (!st.prepared()) st = prepare(kSql[index]);
  st.run();
}

Status Database::backup_to(const std::string& path) {
  sqlite3* dest = nullptr;
  if (sqlite3_open_v2(path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(dest);
    return Status::io_error("cannot create database copy " + path);
  }
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db_, "main");
  int rc = SQLITE_ERROR;
  if (backup != nullptr) {
    rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
  }
  std::string msg = sqlite3_errmsg(dest);
  // The copy must be a single self-contained file, not WAL + main.
  if (rc == SQLITE_DONE) {
    char* err = nullptr;
    if (sqlite3_exec(dest, "PRAGMA journal_mode=DELETE;", nullptr, nullptr, &err) != SQLITE_OK) {
      sqlite3_free(err);
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_close_v2(dest);
  if (rc != SQLITE_DONE) return Status::io_error("database copy to " + path + " failed: " + msg);
  return Status::ok();
}

void Checkpointer::start(Database& db, const std::string& path) {
  stop();
  db_ = &db;
  path_ = path;
  stop_ = false;
  sqlite3_wal_hook(db.handle(), &Checkpointer::on_commit, this);  // replaces the automatic checkpoint
  thread_ = std::thread([this] { loop(); });
}

void Checkpointer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (db_->handle() != nullptr) sqlite3_wal_autocheckpoint(db_->handle(), pages_);
}

uint64_t Checkpointer::wait_for_checkpoints(uint64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  done_.wait_for(lock, timeout, [&] { return checkpoints_ >= count; });
  return checkpoints_;
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* /*schema*/, int pages) {
  auto* me = static_cast<Checkpointer*>(self);
  if (pages >= me->limit_pages_) {
    {
      // Only one checkpoint at a time: this one would find the log busy.
      std::unique_lock lock(me->mu_);
      me->done_.wait(lock, [me] { return !me->running_; });
      me->due_ = false;
    }
    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= me->pages_) {
    {
      std::lock_guard lock(me->mu_);
      me->due_ = true;
    }
    me->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::loop() {
  Database conn;  // opened at the first checkpoint (open() reads the file: WAL mode, busy timeout)
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return due_ || stop_; });
    if (stop_) break;
    due_ = false;
    running_ = true;
    lock.unlock();
    if (conn.handle() == nullptr) conn.open(path_, false);  // a failed open leaves it closed: tried again next time
    // SQLITE_BUSY (another checkpoint runs) and errors leave the log to the
    // next one, or to the owner's checkpoint at the end.
    int log_frames = -1;
    const bool done = conn.handle() != nullptr &&
                      sqlite3_wal_checkpoint_v2(conn.handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                                nullptr) == SQLITE_OK &&
                      log_frames >= 0;
    lock.lock();
    running_ = false;
    if (done) ++checkpoints_;
    done_.notify_all();
  }
}

Transaction::Transaction(Database& db, Nesting nesting) : db_(db), uncaught_(std::uncaught_exceptions()) {
  nested_ = db_.in_transaction();
  if (nested_ && nesting == Nesting::kJoin) {
    done_ = true;  // nothing to commit or roll back of its own
    return;
  }
  db_.exec(nested_ ? Database::Txn::kSavepoint : Database::Txn::kBegin);
}

void Transaction::commit() {
  if (!done_) {
    done_ = true;
    db_.exec(nested_ ? Database::Txn::kRelease : Database::Txn::kCommit);
  }
}

Transaction::~Transaction() {
  if (done_) return;
  if (std::uncaught_exceptions() > uncaught_) {
    rollback();
    return;
  }
  try {
    commit();
  } catch (...) {
    rollback();
  }
}

void Transaction::rollback() noexcept {
  // A failed statement may already have ended the outer transaction, and
  // with it the savepoint.
  if (nested_ && !db_.in_transaction()) return;
  sqlite3_exec(db_.handle(), nested_ ? "ROLLBACK TO op; RELEASE op" : "ROLLBACK", nullptr, nullptr, nullptr);
  if (nested_) db_.savepoint_rolled_back();
}

}  // namespace hoardfs::sql
