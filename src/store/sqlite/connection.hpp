#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace mladmin::store::sqlite {

/// A prepared statement borrowed from a Connection's cache; reset and unbound when released.
class Statement final {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds by 1-based index; returns *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  /// Binds text without copying it: `value` must stay alive and unchanged until the statement is
  /// rebound or released (a released Statement clears its bindings).
  Statement& bind_static(int index, std::string_view value);
  Statement& bind(int index, const std::optional<std::string>& value);
  Statement& bind(int index, const std::optional<std::int64_t>& value);
  Statement& bind_null(int index);

  /// Advances to the next row; false when done. Throws std::runtime_error on failure.
  bool step();
  /// Runs to completion; returns the number of rows changed.
  int exec();
  /// Rewinds the statement so that it can run again (bindings are kept until rebound).
  void reset();

  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  bool is_null(int column) const;
  std::optional<std::int64_t> opt_int64(int column) const;
  std::optional<std::string> opt_text(int column) const;

 private:
  sqlite3_stmt* stmt_;
};

/// Every connection's busy timeout: how long a statement waits for another process's lock.
inline constexpr int kBusyTimeoutMs = 5000;

/// One SQLite connection with a cache of prepared statements. Not thread-safe: one thread at a
/// time (the store hands connections out from a pool).
class Connection final {
 public:
  /// Opens (creating) the file in WAL mode with a busy timeout and foreign keys on.
  explicit Connection(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs SQL text without results (may hold several statements).
  void exec(const std::string& sql);
  /// A cached prepared statement for `sql`.
  Statement prepare(const std::string& sql);
  /// Rows changed by the last statement.
  int changes() const;
  /// Writes the open transaction's dirty pages to the WAL without committing them
  /// (sqlite3_db_cacheflush); a full disk throws StorageFull, as any write does.
  void flush_cache();

  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

/// True when `e` came from a UNIQUE or PRIMARY KEY violation.
bool is_constraint_violation(const std::exception& e);
/// True when `e` came from a statement stopped by a progress handler or sqlite3_interrupt.
bool is_interrupted(const std::exception& e);

}  // namespace mladmin::store::sqlite
