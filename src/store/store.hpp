#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/clock.hpp"
#include "domain/role.hpp"
#include "domain/source.hpp"
#include "domain/user.hpp"

namespace mladmin::store {

enum class UserSortKey { created_at, email, name, last_login_at };

/// Keyset position after which a page starts: the last row's sort value and id.
struct UserCursor {
  std::variant<std::int64_t, std::string> value;
  std::string id;
};

struct UserQuery {
  std::string text;  ///< substring of email or name, case-insensitive; empty = all
  std::optional<domain::Role> role;
  std::optional<domain::UserStatus> status;
  std::optional<domain::TimestampMs> created_from;  ///< inclusive
  std::optional<domain::TimestampMs> created_to;    ///< exclusive
  UserSortKey sort = UserSortKey::created_at;
  bool descending = false;
  std::size_t limit = 50;  ///< rows to return; the store fetches one more to tell if there is a next page
  std::optional<UserCursor> after;
};

struct UserPage {
  std::vector<domain::User> items;
  bool has_more = false;
};

/// One row of the audit log: who did what to which object, when (SPEC §6).
struct AuditEntry {
  std::string id;
  domain::TimestampMs at = 0;
  std::optional<std::string> actor_id;  ///< null for the command line
  std::string actor_label;              ///< the actor's email, or "cli"
  std::string action;                   ///< e.g. "user.create", "user.set_role", "user.bulk"
  std::string target_type;              ///< e.g. "user"
  std::optional<std::string> target_id;
  std::string details_json = "{}";
};

struct AuditQuery {
  std::size_t limit = 50;
  std::optional<std::string> before_id;  ///< newest first; ids are time-ordered
  std::optional<std::string> target_id;
};

/// Lists source records newest first (created_at, then id), tombstones left out.
struct SourceQuery {
  std::optional<std::string> user_id;  ///< one owner's records; all owners when null
  std::size_t limit = 50;
  /// Keyset position: the last row's (created_at, id).
  std::optional<std::pair<domain::TimestampMs, std::string>> before;
};

template <class T>
struct SourcePage {
  std::vector<T> items;
  bool has_more = false;
};

/// What a read may do. Every method runs inside the transaction the Store opened.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::optional<domain::User> find_user(std::string_view id) = 0;
  virtual std::optional<domain::User> find_user_by_email(std::string_view normalized_email) = 0;
  virtual UserPage list_users(const UserQuery& query) = 0;
  virtual std::int64_t count_active_admins() = 0;
  virtual std::vector<AuditEntry> list_audit(const AuditQuery& query) = 0;
  virtual std::optional<std::string> get_setting(std::string_view key) = 0;

  /// A record by id, tombstone or not.
  virtual std::optional<domain::JournalEntry> find_journal_entry(std::string_view id) = 0;
  virtual SourcePage<domain::JournalEntry> list_journal_entries(const SourceQuery& query) = 0;
  virtual std::optional<domain::Goal> find_goal(std::string_view id) = 0;
  virtual SourcePage<domain::Goal> list_goals(const SourceQuery& query) = 0;
};

/// What a write transaction may do in addition.
class Writer : public Reader {
 public:
  /// Returns false when the normalized email is taken (nothing is written).
  virtual bool insert_user(const domain::User& user) = 0;
  /// Replaces every mutable column of the row with `user.id`; false when it does not exist.
  virtual bool update_user(const domain::User& user) = 0;
  virtual bool delete_user(std::string_view id) = 0;
  virtual void set_last_login(std::string_view id, domain::TimestampMs at) = 0;
  virtual void insert_audit(const AuditEntry& entry) = 0;
  /// Stores `value` under `key` unless a value is there already; returns the stored value.
  virtual std::string put_setting_if_absent(std::string_view key, std::string_view value) = 0;

  /// Inserts or replaces the record with `record.id` (a tombstone is a record with deleted_at
  /// set), giving it the table's next change_seq, which is written back into `record`.
  virtual void save_journal_entry(domain::JournalEntry& record) = 0;
  virtual void save_goal(domain::Goal& record) = 0;
};

/// The storage interface. SQLite implements it now, PostgreSQL later; handlers see only this.
/// Every method may be called from any thread; each blocks, so call them off the I/O threads.
class Store {
 public:
  virtual ~Store() = default;

  /// Applies every pending migration; returns the schema version reached.
  virtual int migrate() = 0;
  /// The applied schema version, 0 for an empty database.
  virtual int schema_version() = 0;
  /// True when the database answers a trivial query.
  virtual bool ping() = 0;

  /// Runs `fn` in a read transaction (a consistent snapshot).
  virtual void read(const std::function<void(Reader&)>& fn) = 0;
  /// Runs `fn` in a write transaction: committed when `fn` returns, rolled back when it throws
  /// (the exception propagates). Writers are serialized.
  virtual void write(const std::function<void(Writer&)>& fn) = 0;

  template <class F>
  auto read_value(F&& fn) -> decltype(fn(std::declval<Reader&>())) {
    std::optional<decltype(fn(std::declval<Reader&>()))> out;
    read([&](Reader& r) { out.emplace(fn(r)); });
    return std::move(*out);
  }
  template <class F>
  auto write_value(F&& fn) -> decltype(fn(std::declval<Writer&>())) {
    std::optional<decltype(fn(std::declval<Writer&>()))> out;
    write([&](Writer& w) { out.emplace(fn(w)); });
    return std::move(*out);
  }
};

/// Opens the store named by a database URL: `sqlite:///path/file.db` (or a plain path).
/// Throws std::runtime_error naming the problem for a URL it cannot open.
std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size);

}  // namespace mladmin::store
