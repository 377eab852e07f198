#include "store/sqlite/connection.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>

#include "store/errors.hpp"

namespace mladmin::store::sqlite {

namespace {

/// The page size of the files a connection creates (the database, its search index): set while
/// a file is empty; a file made with other pages keeps them.
constexpr int kPageSize = 16384;

class SqliteError final : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

/// A full disk and a lock held by another process get their own types, for a person to read.
void throw_if_full_or_locked(sqlite3* db, int rc) {
  if (db != nullptr && ((rc & 0xFF) == SQLITE_FULL || (rc & 0xFF) == SQLITE_BUSY)) {
    const char* file = sqlite3_db_filename(db, "main");
    const std::string path = file != nullptr && *file != '\0' ? file : "(in memory)";
    if ((rc & 0xFF) == SQLITE_FULL) {
      throw StorageFull(path);
    }
    throw StorageLocked(path);
  }
}

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view context) {
  throw_if_full_or_locked(db, rc);
  std::string msg(context);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw SqliteError(rc, msg);
}

}  // namespace

bool is_constraint_violation(const std::exception& e) {
  const auto* err = dynamic_cast<const SqliteError*>(&e);
  return err != nullptr && (err->code() & 0xFF) == SQLITE_CONSTRAINT;
}

bool is_interrupted(const std::exception& e) {
  const auto* err = dynamic_cast<const SqliteError*>(&e);
  return err != nullptr && (err->code() & 0xFF) == SQLITE_INTERRUPT;
}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind_static(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail(sqlite3_db_handle(stmt_), rc, "sqlite step");
}

int Statement::exec() {
  while (step()) {
  }
  return sqlite3_changes(sqlite3_db_handle(stmt_));
}

void Statement::reset() {
  sqlite3_reset(stmt_);
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::opt_int64(int column) const {
  return is_null(column) ? std::nullopt : std::optional<std::int64_t>(int64(column));
}

std::optional<std::string> Statement::opt_text(int column) const {
  return is_null(column) ? std::nullopt : std::optional<std::string>(text(column));
}

Connection::Connection(const std::string& path) {
  // The database holds password hashes and the generated JWT secret: a new file is made 0600
  // before SQLite opens it, and SQLite gives its -wal and -shm the same mode (docs/security.md).
  if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    }
  }
  // SQLite's memory statistics off, before SQLite initializes (the first connection opens it):
  // with them, every allocation of every connection takes one process-wide mutex, which the
  // sync's writer, its preparers and the search indexer contended for on every statement
  // (docs/benchmarks.md, "SQLite's memory statistics, and a commit's documents in place"). Nothing
  // here reads them (sqlite3_memory_used, sqlite3_status, the heap limits). Once SQLite runs, the
  // call fails and changes nothing.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open SQLite database '" + path + "': " + sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  // The busy timeout covers other processes (the CLI beside a running server); writes take the
  // lock up front with BEGIN IMMEDIATE so that the timeout applies to them (docs/architecture.md).
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // A new file gets 16 KiB pages (in a file that has any, this changes nothing): SQLite writes a
  // WAL frame in two system calls, so a sync's commit of thousands of documents costs a quarter of
  // the calls it did with 4 KiB pages, and a full sync of 1,000,000 runs about a sixth faster
  // (docs/benchmarks.md, "Pages of 16 KiB"). Before journal_mode, which writes the file's header.
  exec("PRAGMA page_size=" + std::to_string(kPageSize));
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db_);
}

void Connection::exec(const std::string& sql) {
  // On SQLITE_FULL (and I/O errors) SQLite has already rolled the transaction back: a second
  // ROLLBACK would fail and hide the error that caused it.
  if (sql == "ROLLBACK" && sqlite3_get_autocommit(db_) != 0) {
    return;
  }
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw_if_full_or_locked(db_, rc);
    throw SqliteError(rc, "sqlite exec: " + msg);
  }
}

void Connection::flush_cache() {
  if (const int rc = sqlite3_db_cacheflush(db_); rc != SQLITE_OK) {
    fail(db_, rc, "flushing the transaction's pages");
  }
}

Statement Connection::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      fail(db_, rc, "sqlite prepare");
    }
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second);
}

int Connection::changes() const {
  return sqlite3_changes(db_);
}

}  // namespace mladmin::store::sqlite
