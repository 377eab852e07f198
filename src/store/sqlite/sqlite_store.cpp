#include "store/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <span>
#include <stdexcept>
#include <unordered_map>

#include "store/sqlite/document_queries.hpp"
#include "store/sqlite/fts_rank.hpp"
#include "store/sqlite/stats_queries.hpp"
#include "util/embedded.hpp"
#include "util/thread_priority.hpp"

namespace mladmin::store::sqlite_migrations {
std::span<const EmbeddedFile> files();
}  // namespace mladmin::store::sqlite_migrations

namespace mladmin::store::sqlite {

namespace {

constexpr const char* kUserColumns =
    "id, email, name, role, status, password_hash, token_version, created_at, updated_at, last_login_at";

domain::User read_user(const Statement& st) {
  domain::User u;
  u.id = st.text(0);
  u.email = st.text(1);
  u.name = st.text(2);
  u.role = domain::parse_role(st.text(3)).value_or(domain::Role::user);
  u.status = domain::parse_user_status(st.text(4)).value_or(domain::UserStatus::disabled);
  u.password_hash = st.text(5);
  u.token_version = st.int64(6);
  u.created_at = st.int64(7);
  u.updated_at = st.int64(8);
  u.last_login_at = st.opt_int64(9);
  return u;
}

std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  out.push_back('%');
  return out;
}

constexpr const char* kJournalColumns =
    "id, user_id, title, body, mood, tags, created_at, updated_at, deleted_at, change_seq";
constexpr const char* kGoalColumns =
    "id, user_id, title, description, status, target_date, created_at, updated_at, deleted_at, change_seq";

std::string tags_to_json(const std::vector<std::string>& tags) {
  boost::json::array a;
  for (const auto& t : tags) {
    a.emplace_back(t);
  }
  return boost::json::serialize(a);
}

std::vector<std::string> tags_from_json(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (!ec && v.is_array()) {
    for (const auto& t : v.as_array()) {
      if (t.is_string()) {
        out.emplace_back(t.as_string());
      }
    }
  }
  return out;
}

domain::JournalEntry read_journal_entry(const Statement& st) {
  domain::JournalEntry e;
  e.id = st.text(0);
  e.user_id = st.text(1);
  e.title = st.text(2);
  e.body = st.text(3);
  e.mood = st.opt_int64(4);
  e.tags = tags_from_json(st.text(5));
  e.created_at = st.int64(6);
  e.updated_at = st.int64(7);
  e.deleted_at = st.opt_int64(8);
  e.change_seq = st.int64(9);
  return e;
}

domain::Goal read_goal(const Statement& st) {
  domain::Goal g;
  g.id = st.text(0);
  g.user_id = st.text(1);
  g.title = st.text(2);
  g.description = st.text(3);
  g.status = st.text(4);
  g.target_date = st.opt_text(5);
  g.created_at = st.int64(6);
  g.updated_at = st.int64(7);
  g.deleted_at = st.opt_int64(8);
  g.change_seq = st.int64(9);
  return g;
}

/// The newest-first keyset listing shared by both source tables.
template <class T, class ReadRow>
SourcePage<T> list_source(Connection& c, const char* table, const char* columns, const SourceQuery& q,
                          ReadRow read_row) {
  std::string sql = std::string("SELECT ") + columns + " FROM " + table + " WHERE deleted_at IS NULL";
  if (q.user_id) {
    sql += " AND user_id = ?1";
  }
  if (q.before) {
    sql += " AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))";
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT ?4";
  auto st = c.prepare(sql);
  if (q.user_id) {
    st.bind(1, std::string_view(*q.user_id));
  }
  if (q.before) {
    st.bind(2, q.before->first).bind(3, std::string_view(q.before->second));
  }
  st.bind(4, static_cast<std::int64_t>(q.limit + 1));
  SourcePage<T> page;
  while (st.step()) {
    if (page.items.size() == q.limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(read_row(st));
  }
  return page;
}

std::int64_t next_change_seq(Connection& c, const char* table) {
  auto st = c.prepare(std::string("SELECT COALESCE(max(change_seq), 0) + 1 FROM ") + table);
  st.step();
  return st.int64(0);
}

constexpr const char* kJobColumns =
    "id, user_id, type, status, scope, scope_user_id, mode, total_items, synced_items, skipped_items, "
    "failed_items, error_count, errors, start_time, end_time, running_ms, created_at, updated_at, attempt, "
    "cancel_requested, failure_reason, checkpoint_seq, target_seq, from_seq, retry_before_attempt, "
    "bulk_target, "
    "bulk_id_count, bulk_filter_q, bulk_filter_type, bulk_filter_user_id, bulk_filter_from, bulk_filter_to, "
    "bulk_filter_date_field";

std::string errors_to_json(const std::vector<domain::ItemError>& errors) {
  boost::json::array a;
  for (const auto& e : errors) {
    a.push_back(boost::json::object{{"itemId", e.item_id}, {"reason", e.reason}, {"at", e.at}});
  }
  return boost::json::serialize(a);
}

std::vector<domain::ItemError> errors_from_json(const std::string& text) {
  std::vector<domain::ItemError> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) {
    return out;
  }
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) {
      continue;
    }
    const auto& o = item.as_object();
    domain::ItemError e;
    if (const auto* id = o.if_contains("itemId"); id != nullptr && id->is_string()) {
      e.item_id = std::string(id->as_string());
    }
    if (const auto* r = o.if_contains("reason"); r != nullptr && r->is_string()) {
      e.reason = std::string(r->as_string());
    }
    if (const auto* at = o.if_contains("at"); at != nullptr && at->is_int64()) {
      e.at = at->as_int64();
    }
    out.push_back(std::move(e));
  }
  return out;
}

domain::Job read_job(const Statement& st) {
  domain::Job j;
  j.id = st.text(0);
  j.user_id = st.text(1);
  j.type = domain::parse_job_type(st.text(2)).value_or(domain::JobType::journal_entries);
  j.status = domain::parse_job_status(st.text(3)).value_or(domain::JobStatus::failed);
  j.scope = st.text(4) == "all" ? domain::JobScope::all : domain::JobScope::user;
  j.scope_user_id = st.opt_text(5);
  j.mode = domain::parse_sync_mode(st.text(6)).value_or(domain::SyncMode::incremental);
  j.counters.total = st.int64(7);
  j.counters.synced = st.int64(8);
  j.counters.skipped = st.int64(9);
  j.counters.failed = st.int64(10);
  j.error_count = st.int64(11);
  j.errors = errors_from_json(st.text(12));
  j.start_time = st.opt_int64(13);
  j.end_time = st.opt_int64(14);
  j.running_ms = st.int64(15);
  j.created_at = st.int64(16);
  j.updated_at = st.int64(17);
  j.attempt = static_cast<int>(st.int64(18));
  j.cancel_requested = st.int64(19) != 0;
  j.failure_reason = st.text(20);
  j.checkpoint_seq = st.int64(21);
  j.target_seq = st.int64(22);
  j.from_seq = st.int64(23);
  j.retry_before_attempt = static_cast<int>(st.int64(24));
  // A bulk job's target (migration 0011): its filter's fields as the client wrote them, or the
  // number of its ids.
  if (const auto target = st.opt_text(25); target == "filter") {
    j.bulk = domain::BulkParams{domain::DocumentFilterSpec{st.opt_text(27), st.opt_text(28), st.opt_text(29),
                                                           st.opt_text(30), st.opt_text(31), st.opt_text(32)},
                                0};
  } else if (target == "ids") {
    j.bulk = domain::BulkParams{std::nullopt, st.opt_int64(26).value_or(0)};
  }
  return j;
}

void bind_job(Statement& st, const domain::Job& j) {
  st.bind(1, std::string_view(j.id))
      .bind(2, std::string_view(j.user_id))
      .bind(3, domain::to_string(j.type))
      .bind(4, domain::to_string(j.status))
      .bind(5, domain::to_string(j.scope))
      .bind(6, j.scope_user_id)
      .bind(7, domain::to_string(j.mode))
      .bind(8, j.counters.total)
      .bind(9, j.counters.synced)
      .bind(10, j.counters.skipped)
      .bind(11, j.counters.failed)
      .bind(12, j.error_count)
      .bind(13, std::string_view(errors_to_json(j.errors)))
      .bind(14, j.start_time)
      .bind(15, j.end_time)
      .bind(16, j.running_ms)
      .bind(17, j.created_at)
      .bind(18, j.updated_at)
      .bind(19, static_cast<std::int64_t>(j.attempt))
      .bind(20, static_cast<std::int64_t>(j.cancel_requested ? 1 : 0))
      .bind(21, std::string_view(j.failure_reason))
      .bind(22, j.checkpoint_seq)
      .bind(23, j.target_seq)
      .bind(24, j.from_seq)
      .bind(25, static_cast<std::int64_t>(j.retry_before_attempt));
  const std::optional<domain::DocumentFilterSpec> no_filter;
  const auto& filter = j.bulk ? j.bulk->filter : no_filter;
  const auto field = [&](auto member) { return filter ? (*filter).*member : std::optional<std::string>(); };
  st.bind(26, j.bulk ? std::optional<std::string>(filter ? "filter" : "ids") : std::nullopt)
      .bind(27, j.bulk && !filter ? std::optional<std::int64_t>(j.bulk->id_count) : std::nullopt)
      .bind(28, field(&domain::DocumentFilterSpec::q))
      .bind(29, field(&domain::DocumentFilterSpec::type))
      .bind(30, field(&domain::DocumentFilterSpec::user_id))
      .bind(31, field(&domain::DocumentFilterSpec::from))
      .bind(32, field(&domain::DocumentFilterSpec::to))
      .bind(33, field(&domain::DocumentFilterSpec::date_field));
  if (domain::is_active(j.status)) {
    st.bind(34, std::string_view(scope_key(j)));
  } else {
    st.bind_null(34);
  }
}

/// The condition on a job_errors row of job ?1 that it is one of the job's current failures, not
/// one that a retry of the job's failed items has still to process. (False for every row of a
/// job that does not exist.)
constexpr const char* kCurrentError = "attempt >= (SELECT retry_before_attempt FROM jobs WHERE id = ?1)";

std::vector<StoredItemError> read_job_errors(Statement& st) {
  std::vector<StoredItemError> out;
  while (st.step()) {
    out.push_back({st.int64(0), {st.text(1), st.text(2), st.int64(3)}, static_cast<int>(st.int64(4))});
  }
  return out;
}

const char* source_table(domain::SourceType type) {
  return type == domain::SourceType::journal_entries ? "journal_entries" : "goals";
}

/// What a write transaction did to the full-text index's queue (search_index_changes, 0014) and
/// what its caller asked of the index, for SqliteStore::write after the commit.
struct IndexChanges {
  /// The transaction's last recorded change; 0: none.
  std::int64_t last_seq = 0;
  /// The indexer's progress when the transaction began: the changes it may delete.
  std::int64_t indexed_through = 0;
  /// The changes deleted so far (the store's counter, under its write lock).
  std::int64_t* trimmed_through = nullptr;
  bool deferred = false;  ///< defer_search_index was called: write() does not wait
};

/// Every query of the store, over one connection. Reads and writes share the code; the Store
/// decides which connection and which kind of transaction surround it.
class Ops final : public Writer {
 public:
  explicit Ops(Connection& conn, IndexChanges* index = nullptr) : c_(conn), index_(index) {}
  using Writer::count_matching_documents;
  using Writer::matching_documents_after;

  std::optional<domain::User> find_user(std::string_view id) override {
    auto st = c_.prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
    st.bind(1, id);
    return st.step() ? std::optional(read_user(st)) : std::nullopt;
  }

  std::optional<domain::User> find_user_by_email(std::string_view normalized_email) override {
    auto st = c_.prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE email_norm = ?");
    st.bind(1, normalized_email);
    return st.step() ? std::optional(read_user(st)) : std::nullopt;
  }

  UserPage list_users(const UserQuery& q) override {
    // The SQL text is assembled from fixed fragments only; every value is bound.
    std::string key;
    bool int_key = true;
    switch (q.sort) {
      case UserSortKey::created_at:
        key = "created_at";
        break;
      case UserSortKey::email:
        key = "email_norm";
        int_key = false;
        break;
      case UserSortKey::name:
        key = "name";
        int_key = false;
        break;
      case UserSortKey::last_login_at:
        key = "COALESCE(last_login_at, 0)";
        break;
    }
    std::string sql = std::string("SELECT ") + kUserColumns + " FROM users WHERE 1=1";
    if (!q.text.empty()) {
      sql += " AND (email_norm LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\')";
    }
    if (q.role) {
      sql += " AND role = ?2";
    }
    if (q.status) {
      sql += " AND status = ?3";
    }
    if (q.created_from) {
      sql += " AND created_at >= ?4";
    }
    if (q.created_to) {
      sql += " AND created_at < ?5";
    }
    const char* cmp = q.descending ? "<" : ">";
    if (q.after) {
      sql += " AND (" + key + " " + cmp + " ?6 OR (" + key + " = ?6 AND id " + cmp + " ?7))";
    }
    const char* dir = q.descending ? " DESC" : " ASC";
    sql += " ORDER BY " + key + dir + ", id" + dir + " LIMIT ?8";

    auto st = c_.prepare(sql);
    if (!q.text.empty()) {
      st.bind(1, std::string_view(like_pattern(q.text)));
    }
    if (q.role) {
      st.bind(2, domain::to_string(*q.role));
    }
    if (q.status) {
      st.bind(3, domain::to_string(*q.status));
    }
    if (q.created_from) {
      st.bind(4, *q.created_from);
    }
    if (q.created_to) {
      st.bind(5, *q.created_to);
    }
    if (q.after) {
      if (int_key) {
        const auto* v = std::get_if<std::int64_t>(&q.after->value);
        st.bind(6, v != nullptr ? *v : 0);
      } else {
        const auto* v = std::get_if<std::string>(&q.after->value);
        st.bind(6, std::string_view(v != nullptr ? *v : std::string()));
      }
      st.bind(7, std::string_view(q.after->id));
    }
    st.bind(8, static_cast<std::int64_t>(q.limit + 1));
    UserPage page;
    while (st.step()) {
      if (page.items.size() == q.limit) {
        page.has_more = true;
        break;
      }
      page.items.push_back(read_user(st));
    }
    return page;
  }

  std::int64_t count_active_admins() override {
    auto st = c_.prepare("SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active'");
    st.step();
    return st.int64(0);
  }

  std::vector<AuditEntry> list_audit(const AuditQuery& q) override {
    std::string sql =
        "SELECT id, at, actor_id, actor_label, action, target_type, target_id, details FROM audit_log WHERE "
        "1=1";
    if (q.before_id) {
      sql += " AND id < ?1";
    }
    if (q.target_id) {
      sql += " AND target_id = ?2";
    }
    sql += " ORDER BY id DESC LIMIT ?3";
    auto st = c_.prepare(sql);
    if (q.before_id) {
      st.bind(1, std::string_view(*q.before_id));
    }
    if (q.target_id) {
      st.bind(2, std::string_view(*q.target_id));
    }
    st.bind(3, static_cast<std::int64_t>(q.limit));
    std::vector<AuditEntry> out;
    while (st.step()) {
      AuditEntry e;
      e.id = st.text(0);
      e.at = st.int64(1);
      e.actor_id = st.opt_text(2);
      e.actor_label = st.text(3);
      e.action = st.text(4);
      e.target_type = st.text(5);
      e.target_id = st.opt_text(6);
      e.details_json = st.text(7);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::optional<std::string> get_setting(std::string_view key) override {
    auto st = c_.prepare("SELECT value FROM settings WHERE key = ?");
    st.bind(1, key);
    return st.step() ? std::optional(st.text(0)) : std::nullopt;
  }

  bool insert_user(const domain::User& u) override {
    auto st = c_.prepare(
        "INSERT INTO users (id, email, email_norm, name, role, status, password_hash, token_version, "
        "created_at, "
        "updated_at, last_login_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email_norm) DO "
        "NOTHING");
    st.bind(1, std::string_view(u.id))
        .bind(2, std::string_view(u.email))
        .bind(3, std::string_view(domain::normalize_email(u.email)))
        .bind(4, std::string_view(u.name))
        .bind(5, domain::to_string(u.role))
        .bind(6, domain::to_string(u.status))
        .bind(7, std::string_view(u.password_hash))
        .bind(8, u.token_version)
        .bind(9, u.created_at)
        .bind(10, u.updated_at)
        .bind(11, u.last_login_at);
    return st.exec() == 1;
  }

  bool update_user(const domain::User& u) override {
    auto st = c_.prepare(
        "UPDATE users SET name = ?, role = ?, status = ?, password_hash = ?, token_version = ?, updated_at = "
        "? "
        "WHERE id = ?");
    st.bind(1, std::string_view(u.name))
        .bind(2, domain::to_string(u.role))
        .bind(3, domain::to_string(u.status))
        .bind(4, std::string_view(u.password_hash))
        .bind(5, u.token_version)
        .bind(6, u.updated_at)
        .bind(7, std::string_view(u.id));
    return st.exec() == 1;
  }

  bool delete_user(std::string_view id) override {
    auto st = c_.prepare("DELETE FROM users WHERE id = ?");
    st.bind(1, id);
    return st.exec() == 1;
  }

  void set_last_login(std::string_view id, domain::TimestampMs at) override {
    auto st = c_.prepare("UPDATE users SET last_login_at = ? WHERE id = ?");
    st.bind(1, at).bind(2, id);
    st.exec();
  }

  void insert_audit(const AuditEntry& e) override {
    auto st = c_.prepare(
        "INSERT INTO audit_log (id, at, actor_id, actor_label, action, target_type, target_id, details) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, std::string_view(e.id))
        .bind(2, e.at)
        .bind(3, e.actor_id)
        .bind(4, std::string_view(e.actor_label))
        .bind(5, std::string_view(e.action))
        .bind(6, std::string_view(e.target_type))
        .bind(7, e.target_id)
        .bind(8, std::string_view(e.details_json));
    st.exec();
  }

  std::string put_setting_if_absent(std::string_view key, std::string_view value) override {
    auto st = c_.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING");
    st.bind(1, key).bind(2, value);
    st.exec();
    return get_setting(key).value_or(std::string(value));
  }

  std::optional<domain::JournalEntry> find_journal_entry(std::string_view id) override {
    auto st = c_.prepare(std::string("SELECT ") + kJournalColumns + " FROM journal_entries WHERE id = ?");
    st.bind(1, id);
    return st.step() ? std::optional(read_journal_entry(st)) : std::nullopt;
  }

  SourcePage<domain::JournalEntry> list_journal_entries(const SourceQuery& q) override {
    return list_source<domain::JournalEntry>(c_, "journal_entries", kJournalColumns, q, read_journal_entry);
  }

  std::optional<domain::Goal> find_goal(std::string_view id) override {
    auto st = c_.prepare(std::string("SELECT ") + kGoalColumns + " FROM goals WHERE id = ?");
    st.bind(1, id);
    return st.step() ? std::optional(read_goal(st)) : std::nullopt;
  }

  SourcePage<domain::Goal> list_goals(const SourceQuery& q) override {
    return list_source<domain::Goal>(c_, "goals", kGoalColumns, q, read_goal);
  }

  void save_journal_entry(domain::JournalEntry& e) override { save_journal_entries(std::span(&e, 1)); }

  void save_goal(domain::Goal& g) override { save_goals(std::span(&g, 1)); }

  void save_journal_entries(std::span<domain::JournalEntry> records) override {
    if (records.empty()) {
      return;
    }
    std::int64_t seq = next_change_seq(c_, "journal_entries");
    auto st = c_.prepare(std::string("INSERT OR REPLACE INTO journal_entries (") + kJournalColumns +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (auto& e : records) {
      e.change_seq = seq++;
      st.bind(1, std::string_view(e.id))
          .bind(2, std::string_view(e.user_id))
          .bind(3, std::string_view(e.title))
          .bind(4, std::string_view(e.body))
          .bind(5, e.mood)
          .bind(6, std::string_view(tags_to_json(e.tags)))
          .bind(7, e.created_at)
          .bind(8, e.updated_at)
          .bind(9, e.deleted_at)
          .bind(10, e.change_seq);
      st.exec();
      st.reset();
    }
  }

  void save_goals(std::span<domain::Goal> records) override {
    if (records.empty()) {
      return;
    }
    std::int64_t seq = next_change_seq(c_, "goals");
    auto st = c_.prepare(std::string("INSERT OR REPLACE INTO goals (") + kGoalColumns +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (auto& g : records) {
      g.change_seq = seq++;
      st.bind(1, std::string_view(g.id))
          .bind(2, std::string_view(g.user_id))
          .bind(3, std::string_view(g.title))
          .bind(4, std::string_view(g.description))
          .bind(5, std::string_view(g.status))
          .bind(6, g.target_date)
          .bind(7, g.created_at)
          .bind(8, g.updated_at)
          .bind(9, g.deleted_at)
          .bind(10, g.change_seq);
      st.exec();
      st.reset();
    }
  }

  std::int64_t max_change_seq(domain::SourceType type) override {
    auto st = c_.prepare(std::string("SELECT COALESCE(max(change_seq), 0) FROM ") + source_table(type));
    st.step();
    return st.int64(0);
  }

  std::int64_t count_changes(domain::SourceType type, const std::optional<std::string>& user_id,
                             std::int64_t after, std::int64_t upto) override {
    std::string sql = std::string("SELECT count(*) FROM ") + source_table(type) +
                      " WHERE change_seq > ?1 AND change_seq <= ?2" + (user_id ? " AND user_id = ?3" : "");
    auto st = c_.prepare(sql);
    st.bind(1, after).bind(2, upto);
    if (user_id) {
      st.bind(3, std::string_view(*user_id));
    }
    st.step();
    return st.int64(0);
  }

  std::vector<domain::JournalEntry> journal_changes(const std::optional<std::string>& user_id,
                                                    std::int64_t after, std::int64_t upto,
                                                    std::size_t limit) override {
    return changes<domain::JournalEntry>(domain::SourceType::journal_entries, kJournalColumns, user_id, after,
                                         upto, limit, read_journal_entry);
  }

  std::vector<domain::Goal> goal_changes(const std::optional<std::string>& user_id, std::int64_t after,
                                         std::int64_t upto, std::size_t limit) override {
    return changes<domain::Goal>(domain::SourceType::goals, kGoalColumns, user_id, after, upto, limit,
                                 read_goal);
  }

  std::vector<std::pair<std::string, std::string>> document_hashes(
      domain::SourceType type, const std::vector<std::string>& ids) override {
    std::vector<std::pair<std::string, std::string>> out;
    auto st = c_.prepare("SELECT content_hash FROM documents WHERE source_type = ? AND source_id = ?");
    for (const auto& id : ids) {
      st.bind(1, domain::to_string(type)).bind(2, std::string_view(id));
      if (st.step()) {
        out.emplace_back(id, st.text(0));
      }
      st.reset();
    }
    return out;
  }

  std::int64_t count_documents(std::optional<domain::SourceType> type) override {
    auto st = c_.prepare(type ? "SELECT count(*) FROM documents WHERE source_type = ?"
                              : "SELECT count(*) FROM documents");
    if (type) {
      st.bind(1, domain::to_string(*type));
    }
    st.step();
    return st.int64(0);
  }

  DocumentPage search_documents(const DocumentQuery& query) override { return documents::search(c_, query); }
  std::int64_t count_matching_documents(const DocumentFilter& filter,
                                        std::chrono::microseconds deadline) override {
    return documents::count_matching(c_, filter, deadline);
  }
  std::vector<Document> matching_documents_after(const DocumentFilter& filter, std::int64_t after_seq,
                                                 std::size_t limit,
                                                 std::chrono::microseconds deadline) override {
    return documents::matching_after(c_, filter, after_seq, limit, deadline);
  }
  std::vector<Document> matching_documents_among(const DocumentFilter& filter,
                                                 const std::vector<std::int64_t>& seqs) override {
    return documents::matching_among(c_, filter, seqs);
  }
  std::optional<Document> find_document(std::string_view id) override { return documents::find(c_, id); }
  std::vector<Document> find_documents(const std::vector<std::string>& ids) override {
    return documents::find_many(c_, ids);
  }
  std::int64_t max_document_seq() override { return documents::max_seq(c_); }

  std::optional<domain::Job> find_job(std::string_view id) override {
    auto st = c_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
    st.bind(1, id);
    return st.step() ? std::optional(read_job(st)) : std::nullopt;
  }

  std::optional<domain::Job> find_active_job(std::string_view key) override {
    auto st = c_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE slot = ?");
    st.bind(1, key);
    return st.step() ? std::optional(read_job(st)) : std::nullopt;
  }

  JobPage list_jobs(const JobQuery& q) override {
    std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE 1=1";
    if (q.visible_to) {
      sql += " AND scope = 'user' AND scope_user_id = ?1";  // domain/job_access.hpp
    }
    if (q.user_id) {
      sql += " AND (user_id = ?2 OR scope_user_id = ?2)";
    }
    if (q.status) {
      sql += " AND status = ?3";
    }
    if (q.type) {
      sql += " AND type = ?4";
    }
    if (q.from) {
      sql += " AND created_at >= ?5";
    }
    if (q.to) {
      sql += " AND created_at < ?6";
    }
    if (q.before) {
      sql += " AND (created_at < ?7 OR (created_at = ?7 AND id < ?8))";
    }
    sql += " ORDER BY created_at DESC, id DESC LIMIT ?9";
    auto st = c_.prepare(sql);
    if (q.visible_to) {
      st.bind(1, std::string_view(*q.visible_to));
    }
    if (q.user_id) {
      st.bind(2, std::string_view(*q.user_id));
    }
    if (q.status) {
      st.bind(3, domain::to_string(*q.status));
    }
    if (q.type) {
      st.bind(4, domain::to_string(*q.type));
    }
    if (q.from) {
      st.bind(5, *q.from);
    }
    if (q.to) {
      st.bind(6, *q.to);
    }
    if (q.before) {
      st.bind(7, q.before->first).bind(8, std::string_view(q.before->second));
    }
    st.bind(9, static_cast<std::int64_t>(q.limit + 1));
    JobPage page;
    while (st.step()) {
      if (page.items.size() == q.limit) {
        page.has_more = true;
        break;
      }
      page.items.push_back(read_job(st));
    }
    return page;
  }

  std::vector<std::pair<domain::JobStatus, std::int64_t>> count_jobs_by_status() override {
    auto st = c_.prepare("SELECT status, count(*) FROM jobs GROUP BY status");
    std::vector<std::pair<domain::JobStatus, std::int64_t>> out;
    while (st.step()) {
      if (auto status = domain::parse_job_status(st.text(0))) {
        out.emplace_back(*status, st.int64(1));
      }
    }
    return out;
  }

  std::vector<domain::Job> jobs_in(const std::vector<domain::JobStatus>& statuses) override {
    std::vector<domain::Job> out;
    auto st = c_.prepare(std::string("SELECT ") + kJobColumns +
                         " FROM jobs WHERE status = ? ORDER BY created_at, id");
    for (auto status : statuses) {
      st.bind(1, domain::to_string(status));
      while (st.step()) {
        out.push_back(read_job(st));
      }
      st.reset();
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  std::vector<StoredItemError> list_job_errors(std::string_view job_id, std::int64_t after_seq,
                                               std::size_t limit) override {
    auto st =
        c_.prepare(std::string("SELECT seq, item_id, reason, at, attempt FROM job_errors WHERE job_id = ?1 "
                               "AND seq > ?2 AND ") +
                   kCurrentError + " ORDER BY seq LIMIT ?3");
    st.bind(1, job_id).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
    return read_job_errors(st);
  }

  std::int64_t count_job_errors(std::string_view job_id) override {
    auto st =
        c_.prepare(std::string("SELECT count(*) FROM job_errors WHERE job_id = ?1 AND ") + kCurrentError);
    st.bind(1, job_id);
    st.step();
    return st.int64(0);
  }

  std::vector<StoredItemError> job_errors_to_retry(std::string_view job_id, std::size_t limit) override {
    auto st =
        c_.prepare(std::string("SELECT seq, item_id, reason, at, attempt FROM job_errors WHERE job_id = ?1 "
                               "AND NOT ") +
                   kCurrentError + " ORDER BY seq LIMIT ?2");
    st.bind(1, job_id).bind(2, static_cast<std::int64_t>(limit));
    return read_job_errors(st);
  }

  std::int64_t get_watermark(std::string_view key) override {
    auto st = c_.prepare("SELECT seq FROM sync_watermarks WHERE scope_key = ?");
    st.bind(1, key);
    return st.step() ? st.int64(0) : 0;
  }

  StatsReport read_stats(const StatsQuery& query) override { return sqlite::read_stats(c_, query); }

  void write_documents(domain::SourceType type, std::span<const DocumentWrite* const> docs) override {
    if (docs.empty()) {
      return;
    }
    // A document that was there before this call is updated by its rowid once the title and text
    // it was indexed with are read (the search indexer takes those whose title or text changes
    // out of the index with the words it indexed: a contentless index needs them); any other is
    // inserted, and counted new by the stats counters. Those the preparer saw (`existed`) are
    // read ahead in one statement; the others are inserted at once, an insert that finds its
    // source record's document there reading it then: a sync that writes new documents probes
    // the (source_type, source_id) index once per document, in the INSERT itself
    // (docs/benchmarks.md, "One probe per new document").
    const std::string_view type_name = domain::to_string(type);
    // Every source id this call meets, in an open-addressing table sized once, with nothing
    // allocated per document (docs/benchmarks.md, "Shaping a record, the writer's table of ids,
    // FTS5's hashsize"): a node per id with three strings, rehashed as the table grew, was about
    // 7 % of the writer's samples in a full sync; the table now about 3.5 %.
    struct Known {
      std::int64_t rowid = 0;
      const DocumentWrite* last = nullptr;  ///< what it holds at the end of this call
      std::uint32_t before = 0;             ///< 1 + its index in `before` when it was there before
                                            ///< this call; 0 when this call inserted it
    };
    struct Before {                // a row that was there before this call, as first met:
      std::string_view source_id;  // its key in `known`
      std::string title;           // what the index holds of it
      std::string text;
      std::string user_id;  // its owner and sync time: its key in the owner index (0015)
      std::int64_t synced_at = 0;
    };
    boost::unordered_flat_map<std::string_view, Known> known;  // keys: the source ids in `docs`
    known.reserve(docs.size());
    std::vector<Before> before;
    // Takes the row a query stepped on (rowid, title, text, source_id, user_id, synced_at) as the
    // state before this call of `source_id`, one of `docs`.
    const auto found = [&](std::string_view source_id, const Statement& st) {
      Known& k = known[source_id];
      k.rowid = st.int64(0);
      before.push_back(Before{source_id, st.text(1), st.text(2), st.text(4), st.int64(5)});
      k.before = static_cast<std::uint32_t>(before.size());
    };
    {
      boost::json::array ids;
      for (const DocumentWrite* doc : docs) {
        const DocumentWrite& d = *doc;
        if (d.existed && known.try_emplace(d.source_id).second) {
          ids.emplace_back(d.source_id);
        }
      }
      if (!ids.empty()) {
        auto find = c_.prepare(
            "SELECT rowid, title, text, source_id, user_id, synced_at FROM documents WHERE source_type = ?1 "
            "AND source_id IN (SELECT value FROM json_each(?2))");
        const std::string ids_json = boost::json::serialize(ids);
        find.bind(1, type_name).bind(2, std::string_view(ids_json));
        while (find.step()) {
          found(known.find(find.text(3))->first, find);
        }
        boost::unordered::erase_if(known, [](const auto& e) { return e.second.before == 0; });  // gone since
      }
    }
    boost::unordered_flat_map<std::string_view, std::int64_t> added;  // stats counters, by owner
    boost::json::array inserted;  // the rows this call added (for the index)
    auto insert = c_.prepare(
        "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, content_hash, "
        "synced_at, version, job_id, source_created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
        "ON CONFLICT (source_type, source_id) DO NOTHING");
    auto find_one = c_.prepare(
        "SELECT rowid, title, text, source_id, user_id, synced_at FROM documents WHERE source_type = ?1 AND "
        "source_id = ?2");
    // The owner index (migration 0015): a new document goes to owner_recent; a rewritten one
    // takes its new owner and sync time there, or leaves owner_documents for it when a merge had
    // taken it. Each document is in exactly one of the two.
    auto recent_add = c_.prepare("INSERT INTO owner_recent (doc, user_id, synced_at) VALUES (?1, ?2, ?3)");
    auto recent_move = c_.prepare("UPDATE owner_recent SET user_id = ?2, synced_at = ?3 WHERE doc = ?1");
    auto settled_drop =
        c_.prepare("DELETE FROM owner_documents WHERE user_id = ?1 AND synced_at = ?2 AND doc = ?3");
    // Numbered as the INSERT's parameters (bind_document binds both; ?1, ?3 and ?4 go unused here).
    auto update = c_.prepare(
        "UPDATE documents SET user_id = ?2, title = ?5, text = ?6, metadata = ?7, content_hash = ?8, "
        "synced_at = ?9, version = version + 1, job_id = ?10, source_created_at = ?11 WHERE rowid = ?12");
    for (const DocumentWrite* doc : docs) {
      const DocumentWrite& d = *doc;
      auto it = known.find(d.source_id);
      if (it == known.end()) {
        bind_document(insert, d, type_name);
        const bool added_row = insert.exec() > 0;
        insert.reset();
        if (added_row) {
          // Not asked with RETURNING: that made a 200,000-item full sync ~60 % slower
          // (docs/benchmarks.md).
          const std::int64_t rowid = sqlite3_last_insert_rowid(c_.handle());
          known.emplace(d.source_id, Known{rowid, &d, 0});
          inserted.emplace_back(rowid);
          ++added[d.user_id];
          recent_add.bind(1, rowid).bind_static(2, d.user_id).bind(3, d.synced_at);
          recent_add.exec();
          recent_add.reset();
          continue;
        }
        // There, though the preparer did not see it (written since, by another job).
        find_one.bind(1, type_name).bind_static(2, d.source_id);
        if (!find_one.step()) {
          throw std::logic_error("a document that conflicted on its source record is not there");
        }
        found(d.source_id, find_one);
        find_one.reset();
        it = known.find(d.source_id);
      }
      Known& k = it->second;
      k.last = &d;
      bind_document(update, d, type_name);
      update.bind(12, k.rowid);
      update.exec();
      update.reset();
      recent_move.bind(1, k.rowid).bind_static(2, d.user_id).bind(3, d.synced_at);
      const bool moved = recent_move.exec() > 0;
      recent_move.reset();
      if (!moved) {  // the first write of a document that a merge had taken: it leaves owner_documents
        const Before& b = before.at(k.before - 1);  // only a row there before can be in owner_documents
        settled_drop.bind(1, std::string_view(b.user_id)).bind(2, b.synced_at).bind(3, k.rowid);
        settled_drop.exec();
        settled_drop.reset();
        recent_add.bind(1, k.rowid).bind_static(2, d.user_id).bind(3, d.synced_at);
        recent_add.exec();
        recent_add.reset();
      }
    }
    wrote_owner_index_ = true;
    apply_document_counts(c_, type, DocumentCountDeltas(added.begin(), added.end()));
    // The rows that were there and whose title or text is not the same now (a document's last
    // write in `docs` is what it holds): a change of the metadata alone leaves the index as it is.
    boost::json::array removed;
    for (Before& b : before) {
      const Known& k = known.at(b.source_id);
      if (k.last != nullptr && (k.last->title != b.title || k.last->text != b.text)) {
        removed.push_back(boost::json::array{k.rowid, boost::json::string(std::move(b.title)),
                                             boost::json::string(std::move(b.text))});
      }
    }
    record_index_changes(inserted, removed);
  }

  /// Binds a document's columns as upsert_documents' INSERT numbers them (?1 id … ?11
  /// source_created_at), without copies: `d` outlives the statement's use. Its job id is NULL for
  /// a document written outside any job (a synchronous bulk resync).
  static void bind_document(Statement& st, const DocumentWrite& d, std::string_view type_name) {
    st.bind_static(1, d.id)
        .bind_static(2, d.user_id)
        .bind(3, type_name)
        .bind_static(4, d.source_id)
        .bind_static(5, d.title)
        .bind_static(6, d.text)
        .bind_static(7, d.metadata_json)
        .bind_static(8, d.content_hash)
        .bind(9, d.synced_at)
        .bind(11, d.source_created_at);
    if (d.job_id.empty()) {
      st.bind_null(10);
    } else {
      st.bind_static(10, d.job_id);
    }
  }

  std::int64_t delete_documents(domain::SourceType type,
                                const std::vector<std::string>& source_ids) override {
    if (source_ids.empty()) {
      return 0;
    }
    boost::json::array ids;
    for (const auto& id : source_ids) {
      ids.emplace_back(id);
    }
    const std::string ids_json = boost::json::serialize(ids);
    unindex(type, ids_json);  // before the rows go: their rowids
    for (const char* sql : {"DELETE FROM owner_recent WHERE doc IN (SELECT rowid FROM documents WHERE "
                            "source_type = ?1 AND source_id IN (SELECT value FROM json_each(?2)))",
                            "DELETE FROM owner_documents WHERE (user_id, synced_at, doc) IN (SELECT user_id, "
                            "synced_at, rowid FROM documents WHERE source_type = ?1 AND source_id IN "
                            "(SELECT value FROM json_each(?2)))"}) {
      auto owner = c_.prepare(sql);
      owner.bind(1, domain::to_string(type)).bind(2, std::string_view(ids_json));
      owner.exec();
    }
    apply_document_counts(c_, type, existing_documents_by_owner(c_, type, ids_json, -1));  // stats counters
    auto st = c_.prepare(
        "DELETE FROM documents WHERE source_type = ?1 AND source_id IN (SELECT value FROM json_each(?2))");
    st.bind(1, domain::to_string(type)).bind(2, std::string_view(ids_json));
    return st.exec();
  }

  bool insert_job(const domain::Job& job) override {
    auto st = c_.prepare(std::string("INSERT INTO jobs (") + kJobColumns +
                         ", slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?) "
                         "ON CONFLICT (slot) DO NOTHING");
    bind_job(st, job);
    return st.exec() == 1;
  }

  void save_job(const domain::Job& job) override {
    auto st = c_.prepare(
        "UPDATE jobs SET id = ?1, user_id = ?2, type = ?3, status = ?4, scope = ?5, scope_user_id = ?6, mode "
        "= ?7, "
        "total_items = ?8, synced_items = ?9, skipped_items = ?10, failed_items = ?11, error_count = ?12, "
        "errors = ?13, start_time = ?14, end_time = ?15, running_ms = ?16, created_at = ?17, updated_at = "
        "?18, "
        "attempt = ?19, cancel_requested = ?20, failure_reason = ?21, checkpoint_seq = ?22, target_seq = "
        "?23, "
        "from_seq = ?24, retry_before_attempt = ?25, bulk_target = ?26, bulk_id_count = ?27, bulk_filter_q = "
        "?28, "
        "bulk_filter_type = ?29, bulk_filter_user_id = ?30, bulk_filter_from = ?31, bulk_filter_to = ?32, "
        "bulk_filter_date_field = ?33, slot = ?34 WHERE id = ?1");
    bind_job(st, job);
    st.exec();
  }

  void append_job_errors(std::string_view job_id, int attempt,
                         const std::vector<domain::ItemError>& errors) override {
    if (errors.empty()) {
      return;
    }
    // Numbered after the job's last error rather than from its error count: a retry of failed
    // items lowers the count while the errors it is retrying still hold their numbers.
    auto last = c_.prepare("SELECT COALESCE(max(seq), 0) FROM job_errors WHERE job_id = ?");
    last.bind(1, job_id);
    last.step();
    std::int64_t seq = last.int64(0);
    auto st = c_.prepare(
        "INSERT INTO job_errors (job_id, seq, item_id, reason, at, attempt) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& e : errors) {
      st.bind(1, job_id)
          .bind(2, ++seq)
          .bind(3, std::string_view(e.item_id))
          .bind(4, std::string_view(e.reason))
          .bind(5, e.at)
          .bind(6, static_cast<std::int64_t>(attempt));
      st.exec();
      st.reset();
    }
    count_item_errors(c_, errors);
  }

  void insert_bulk_targets(std::string_view job_id, const std::vector<std::string>& document_ids) override {
    auto st = c_.prepare("INSERT INTO bulk_targets (job_id, seq, document_id) VALUES (?, ?, ?)");
    std::int64_t seq = 0;
    for (const auto& id : document_ids) {
      st.bind(1, job_id).bind(2, ++seq).bind(3, std::string_view(id));
      st.exec();
      st.reset();
    }
  }

  std::vector<std::pair<std::int64_t, std::string>> bulk_targets_after(std::string_view job_id,
                                                                       std::int64_t after_seq,
                                                                       std::size_t limit) override {
    auto st = c_.prepare(
        "SELECT seq, document_id FROM bulk_targets WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    st.bind(1, job_id).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
    std::vector<std::pair<std::int64_t, std::string>> out;
    while (st.step()) {
      out.emplace_back(st.int64(0), st.text(1));
    }
    return out;
  }

  void delete_job_errors(std::string_view job_id, const std::vector<std::int64_t>& seqs) override {
    auto st = c_.prepare("DELETE FROM job_errors WHERE job_id = ? AND seq = ?");
    for (const auto seq : seqs) {
      st.bind(1, job_id).bind(2, seq);
      st.exec();
      st.reset();
    }
  }

  void defer_search_index() override {
    if (index_ != nullptr) {
      index_->deferred = true;
    }
  }

  void flush_pages() override {
    // The dirty pages of the open transaction go to the WAL as frames without the commit mark:
    // readers do not see them until the COMMIT, which then appends the pages changed since. A
    // full disk here fails the transaction as it would at the COMMIT (StorageFull).
    c_.flush_cache();
  }

  void set_watermark(std::string_view key, std::int64_t seq) override {
    auto st = c_.prepare(
        "INSERT INTO sync_watermarks (scope_key, seq) VALUES (?, ?) ON CONFLICT (scope_key) DO UPDATE SET "
        "seq = max(seq, excluded.seq)");
    st.bind(1, key).bind(2, seq);
    st.exec();
  }

  ExpiredJobsDeleted delete_expired_jobs(domain::TimestampMs ended_before, std::size_t max_jobs,
                                         std::size_t max_errors) override {
    // slot IS NULL is what the partial index jobs_stats_by_end_time (0009) covers; the status test
    // is there so that nothing but a finished job can ever match.
    auto pick = c_.prepare(
        "SELECT id FROM jobs WHERE slot IS NULL AND end_time < ?1 AND status IN ('completed', 'failed', "
        "'cancelled') ORDER BY end_time LIMIT ?2");
    pick.bind(1, ended_before).bind(2, static_cast<std::int64_t>(max_jobs));
    boost::json::array ids;
    while (pick.step()) {
      ids.emplace_back(pick.text(0));
    }
    prune_item_error_counts(c_, ended_before);
    ExpiredJobsDeleted out;
    if (ids.empty()) {
      return out;
    }
    const std::string ids_json = boost::json::serialize(ids);
    auto errors = c_.prepare(
        "DELETE FROM job_errors WHERE rowid IN (SELECT rowid FROM job_errors WHERE job_id IN "
        "(SELECT value FROM json_each(?1)) LIMIT ?2)");
    errors.bind(1, std::string_view(ids_json)).bind(2, static_cast<std::int64_t>(max_errors));
    out.errors = errors.exec();
    const auto left = static_cast<std::int64_t>(max_errors) - out.errors;
    if (left > 0) {
      auto targets = c_.prepare(
          "DELETE FROM bulk_targets WHERE rowid IN (SELECT rowid FROM bulk_targets WHERE job_id IN "
          "(SELECT value FROM json_each(?1)) LIMIT ?2)");
      targets.bind(1, std::string_view(ids_json)).bind(2, left);
      out.targets = targets.exec();
    }
    // A job goes once its errors and targets are gone; one with some left goes in a later call.
    auto jobs = c_.prepare(
        "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND NOT EXISTS "
        "(SELECT 1 FROM job_errors e WHERE e.job_id = jobs.id) AND NOT EXISTS "
        "(SELECT 1 FROM bulk_targets t WHERE t.job_id = jobs.id)");
    jobs.bind(1, std::string_view(ids_json));
    out.jobs = jobs.exec();
    return out;
  }

  /// The rows of owner_recent (migration 0015). count(*) reads the table's pages, not its rows:
  /// about 1,500 pages of 16 KiB at 1,000,000 rows.
  std::int64_t owner_recent_count() {
    auto count = c_.prepare("SELECT count(*) FROM owner_recent");
    count.step();
    const auto rows = count.int64(0);
    count.reset();
    return rows;
  }

  /// What settle_owner_recent left: the rows of owner_recent, and whether it moved any.
  struct OwnerRecent {
    std::int64_t rows = 0;
    bool merged = false;
  };

  /// Once owner_recent holds `bound` rows or more, moves its `step` oldest rows (by document
  /// rowid; all when it holds no more) into owner_documents, in owner_documents' key order, so
  /// that each owner's leaf is rewritten once per step rather than once per commit.
  OwnerRecent settle_owner_recent(std::int64_t bound, std::int64_t step) {
    const std::int64_t rows = owner_recent_count();
    if (rows < bound) {
      return {rows, false};
    }
    if (rows <= step) {
      c_.exec(
          "INSERT INTO owner_documents (user_id, synced_at, doc) "
          "SELECT user_id, synced_at, doc FROM owner_recent ORDER BY user_id, synced_at, doc; "
          "DELETE FROM owner_recent");
      return {0, true};
    }
    auto last = c_.prepare("SELECT doc FROM owner_recent ORDER BY doc LIMIT 1 OFFSET ?");
    last.bind(1, step - 1);
    last.step();
    const std::int64_t through = last.int64(0);  // the step-th: `doc <= through` is `step` rows
    last.reset();
    auto move = c_.prepare(
        "INSERT INTO owner_documents (user_id, synced_at, doc) SELECT user_id, synced_at, doc FROM "
        "owner_recent WHERE doc <= ?1 ORDER BY user_id, synced_at, doc");
    move.bind(1, through);
    move.exec();
    move.reset();
    auto drop = c_.prepare("DELETE FROM owner_recent WHERE doc <= ?1");
    drop.bind(1, through);
    drop.exec();
    drop.reset();
    return {rows - step, true};
  }

  /// Whether this transaction wrote documents (and so rows of owner_recent).
  bool wrote_owner_index() const { return wrote_owner_index_; }

 private:
  /// Records the documents that leave the index (deleted), with the title and text it indexed,
  /// for the indexer.
  void unindex(domain::SourceType type, const std::string& ids_json) {
    auto st = c_.prepare(
        "SELECT rowid, title, text FROM documents WHERE source_type = ?1 AND source_id IN (SELECT value FROM "
        "json_each(?2))");
    st.bind(1, domain::to_string(type)).bind(2, std::string_view(ids_json));
    boost::json::array removed;
    while (st.step()) {
      removed.push_back(
          boost::json::array{st.int64(0), boost::json::string(st.text(1)), boost::json::string(st.text(2))});
    }
    record_index_changes(boost::json::array(), removed);
  }

  /// One row of search_index_changes for the indexer (SearchIndexer, migration 0014): the rowids
  /// inserted, and [rowid, title, text] of each document whose title or text left the index
  /// (changed or deleted), as the index holds it. Also deletes the rows the index has taken.
  void record_index_changes(const boost::json::array& inserted, const boost::json::array& removed) {
    if (inserted.empty() && removed.empty()) {
      return;
    }
    if (index_ != nullptr && index_->trimmed_through != nullptr &&
        index_->indexed_through > *index_->trimmed_through) {
      auto trim = c_.prepare("DELETE FROM search_index_changes WHERE seq <= ?");
      trim.bind(1, index_->indexed_through);
      trim.exec();
      *index_->trimmed_through = index_->indexed_through;
    }
    auto st = c_.prepare("INSERT INTO search_index_changes (inserted, removed) VALUES (?, ?)");
    st.bind(1, std::string_view(boost::json::serialize(inserted)))
        .bind(2, std::string_view(boost::json::serialize(removed)));
    st.exec();
    if (index_ != nullptr) {
      index_->last_seq = sqlite3_last_insert_rowid(c_.handle());
    }
  }

  template <class T, class ReadRow>
  std::vector<T> changes(domain::SourceType type, const char* columns,
                         const std::optional<std::string>& user_id, std::int64_t after, std::int64_t upto,
                         std::size_t limit, ReadRow read_row) {
    std::string sql = std::string("SELECT ") + columns + " FROM " + source_table(type) +
                      " WHERE change_seq > ?1 AND change_seq <= ?2" + (user_id ? " AND user_id = ?3" : "") +
                      " ORDER BY change_seq LIMIT ?4";
    auto st = c_.prepare(sql);
    st.bind(1, after).bind(2, upto).bind(4, static_cast<std::int64_t>(limit));
    if (user_id) {
      st.bind(3, std::string_view(*user_id));
    }
    std::vector<T> out;
    out.reserve(std::min<std::size_t>(limit, 1024));  // a sync reads 256 at a time: grown once
    while (st.step()) {
      out.push_back(read_row(st));
    }
    return out;
  }

  Connection& c_;
  IndexChanges* index_;
  bool wrote_owner_index_ = false;
};

int parse_version(std::string_view name) {
  int v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') {
      break;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, std::size_t readers, CheckpointOptions checkpoints,
                         const StoreOptions& options)
    : path_(std::move(path)),
      owner_recent_rows_(static_cast<std::int64_t>(std::max<std::size_t>(1, options.owner_recent_rows))),
      owner_recent_max_rows_(
          static_cast<std::int64_t>(std::max<std::size_t>(1, options.owner_recent_max_rows))),
      owner_merge_quiet_(options.owner_merge_quiet) {
  writer_ = std::make_unique<Connection>(path_);
  // SQLite's automatic checkpoint would run inside the COMMIT that crosses 1,000 WAL pages (tens
  // of milliseconds in a sync's batch commit); the checkpointer thread does it instead.
  writer_->exec("PRAGMA wal_autocheckpoint=0");
  // A sync's commits touch the right edges of the document indexes, one leaf of owner_documents
  // per owner when owner_recent is merged into it (migration 0015) and the full-text index's
  // newest segments: with SQLite's 2 MiB default they fall out of the cache and are read again
  // with pread at every commit once the store is large (docs/performance.md, "The writer's page
  // cache"). Negative: KiB.
  writer_->exec("PRAGMA cache_size=-" +
                std::to_string(std::max<std::size_t>(1, options.writer_cache_mib) * 1024));
  register_search_functions(writer_->handle());
  // The full-text index lives in a file of its own (docs/performance.md), made here (0600, its
  // tables) before any connection attaches it, and written by the indexer's thread only.
  const std::string index_path = search_index_path(path_);
  create_search_index(index_path);
  const std::string attach = "ATTACH DATABASE " + sql_string(index_path) + " AS search";
  writer_->exec(attach);
  // Written by schema_version() too; here so that begin_write() always has it to lock.
  writer_->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)");
  for (std::size_t i = 0; i < std::max<std::size_t>(readers, 1); ++i) {
    readers_.push_back(std::make_unique<Connection>(path_));
    readers_.back()->exec(attach);
    register_search_functions(readers_.back()->handle());
  }
  version_conn_ = std::make_unique<Connection>(path_);
  // A WAL frame is a page and its 24-byte header.
  std::int64_t page = 4096;
  {
    auto st = writer_->prepare("PRAGMA page_size");
    if (st.step()) {
      page = st.int64(0);
    }
  }
  frame_bytes_ = page + 24;
  wal_stats_.frame_bytes = frame_bytes_;
  restart_frames_ =
      checkpoints.restart_bytes > 0 ? std::max<std::int64_t>(1, checkpoints.restart_bytes / (page + 24)) : 0;
  nudge_frames_ =
      checkpoints.nudge_frames > 0 ? std::max<std::int64_t>(1, checkpoints.nudge_frames * 4096 / page) : 0;
  restart_wait_ = checkpoints.restart_wait;
  indexer_ = std::make_unique<SearchIndexer>(path_, checkpoints.interval, options.background_nice);
  checkpointer_ = std::make_unique<Checkpointer>(path_, checkpoints, options.background_nice);
  sqlite3_wal_hook(writer_->handle(), &SqliteStore::on_commit, this);
  owner_merger_ = std::thread([this, nice = options.background_nice] {
    util::name_and_lower_this_thread("owner-merge", nice);
    run_owner_merges();
  });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(merge_m_);
    merge_stop_ = true;
  }
  merge_cv_.notify_all();
  owner_merger_.join();  // before the writer connection closes: it writes through it
  // The checkpointer stops first (it is the last member); the hook must not outlive `this`.
  sqlite3_wal_hook(writer_->handle(), nullptr, nullptr);
}

int SqliteStore::on_commit(void* self, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  auto& s = *static_cast<SqliteStore*>(self);
  const std::int64_t n = frames;
  if (n < s.wal_stats_.frames) {
    // The WAL started over (reset in place at this commit, or truncated by the checkpointer).
    ++s.wal_stats_.restarts;
    s.nudged_at_ = 0;
    s.attempted_at_ = -1;
    s.wal_stats_.frames_written += n;
  } else {
    s.wal_stats_.frames_written += n - s.wal_stats_.frames;
  }
  s.wal_stats_.frames = n;
  s.publish_wal_stats();
  // The writer copies the rest itself before its next transaction (restart_wal_if_large): a pass
  // of the checkpointer now would only hold the checkpoint lock it needs.
  const bool writer_next = s.restart_frames_ > 0 && n >= s.restart_frames_;
  if (!writer_next && s.nudge_frames_ > 0 && n >= s.nudged_at_ + s.nudge_frames_) {
    s.nudged_at_ = n;
    s.checkpointer_->nudge();
  }
  return SQLITE_OK;
}

void SqliteStore::restart_wal_if_large() {
  const std::int64_t frames = wal_stats_.frames;
  if (restart_frames_ <= 0 || frames < restart_frames_ || checkpointer_->held() ||
      (attempted_at_ >= 0 && frames < attempted_at_ + std::max<std::int64_t>(nudge_frames_, 1))) {
    return;
  }
  attempted_at_ = frames;
  const auto pass = checkpointer_->hold_passes(restart_wait_);
  if (!pass) {
    return;
  }
  // RESTART copies what the checkpointer has not copied yet (it follows the commits closely:
  // about the last commit's frames), waits at most `restart_wait` for the readers of older
  // snapshots to finish, and leaves the WAL to be written from its start by this transaction's
  // commit. When the wait runs out it answers SQLITE_BUSY and the commit appends as before; the
  // next transaction past another `nudge_frames` tries again.
  const auto start = std::chrono::steady_clock::now();
  sqlite3_busy_timeout(writer_->handle(), static_cast<int>(restart_wait_.count()));
  const int rc =
      sqlite3_wal_checkpoint_v2(writer_->handle(), "main", SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  sqlite3_busy_timeout(writer_->handle(), kBusyTimeoutMs);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY && (rc & 0xFF) != SQLITE_LOCKED) {
    // The transaction goes on (it appends to the WAL); the checkpointer logs its own failures.
    spdlog::warn("msg=\"the writer's WAL checkpoint failed\" error=\"{}\"",
                 sqlite3_errmsg(writer_->handle()));
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ++wal_stats_.writer_checkpoints;
  wal_stats_.writer_checkpoint_time += took;
  wal_stats_.longest_writer_checkpoint = std::max(wal_stats_.longest_writer_checkpoint, took);
  publish_wal_stats();
}

void SqliteStore::publish_wal_stats() {
  std::lock_guard lock(published_mutex_);
  published_ = wal_stats_;
}

SqliteStore::WalStats SqliteStore::wal_stats() {
  std::lock_guard lock(write_mutex_);
  return wal_stats_;
}

std::optional<SearchIndexActivity> SqliteStore::search_index_activity() {
  SearchIndexActivity out;
  out.passes = indexer_->passes();
  out.documents = indexer_->documents_indexed();
  // indexed_through() is -1 before the first build: nothing taken yet.
  out.behind =
      std::max<std::int64_t>(0, last_change_.load() - std::max<std::int64_t>(0, indexer_->indexed_through()));
  return out;
}

std::optional<WalActivity> SqliteStore::wal_activity() {
  WalStats s;
  {
    std::lock_guard lock(published_mutex_);
    s = published_;
  }
  WalActivity out;
  out.wal_bytes = s.frames * frame_bytes_;
  out.writer_checkpoints = s.writer_checkpoints;
  out.writer_checkpoint_seconds = std::chrono::duration<double>(s.writer_checkpoint_time).count();
  out.restarts = s.restarts;
  out.checkpointer_passes = checkpointer_->passes();
  out.truncations = checkpointer_->truncations();
  return out;
}

bool SqliteStore::release_reserve() {
  return checkpointer_->release_reserve();
}

std::uint64_t SqliteStore::rights_version() {
  std::lock_guard lock(version_mutex_);
  // One statement, so its own read transaction: the value of the latest commit.
  auto st = version_conn_->prepare("SELECT version FROM rights_version WHERE id = 1");
  if (!st.step()) {
    throw std::runtime_error("the database has no rights_version row (migration 0012)");
  }
  return static_cast<std::uint64_t>(st.int64(0));
}

int SqliteStore::schema_version() {
  std::lock_guard lock(write_mutex_);
  writer_->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)");
  auto st = writer_->prepare("SELECT COALESCE(max(version), 0) FROM schema_migrations");
  st.step();
  return static_cast<int>(st.int64(0));
}

int SqliteStore::migrate() {
  int version = schema_version();
  std::lock_guard lock(write_mutex_);
  // The write lock once even with nothing to migrate: a file another process is writing to stops
  // the start here with StorageLocked (store/errors.hpp), not each write later (docs/fuzzing.md).
  begin_write();
  writer_->exec("COMMIT");
  for (const auto& file : sqlite_migrations::files()) {
    const int v = parse_version(file.name);
    if (v <= version) {
      continue;
    }
    // Each migration and its version row commit together; a concurrent migrator (another
    // process) waits on the write lock and then sees the version and skips.
    begin_write();
    try {
      auto check = writer_->prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
      check.bind(1, static_cast<std::int64_t>(v));
      if (!check.step()) {
        writer_->exec(std::string(file.data));
        auto st =
            writer_->prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, unixepoch())");
        st.bind(1, static_cast<std::int64_t>(v));
        st.exec();
      }
      writer_->exec("COMMIT");
    } catch (...) {
      writer_->exec("ROLLBACK");
      throw;
    }
    version = v;
  }
  if (version >= 15) {  // owner_recent (0015): what a stopped server left there is merged once idle
    Ops ops(*writer_);
    note_owner_recent(ops.owner_recent_count(), true);
  }
  return version;
}

void SqliteStore::note_owner_recent(std::int64_t rows, bool wrote) {
  {
    std::lock_guard lock(merge_m_);
    owner_recent_now_ = rows;
    if (wrote) {
      last_owner_write_ = std::chrono::steady_clock::now();
    }
  }
  merge_cv_.notify_all();
}

std::int64_t SqliteStore::owner_recent_rows() {
  std::lock_guard lock(merge_m_);
  return owner_recent_now_;
}

bool SqliteStore::wait_owner_merged(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(merge_m_);
  return merge_cv_.wait_until(lock, deadline, [&] { return owner_recent_now_ < owner_recent_rows_; });
}

std::int64_t SqliteStore::merge_owner_step() {
  std::lock_guard lock(write_mutex_);
  restart_wal_if_large();
  begin_write();
  Ops::OwnerRecent left;
  try {
    Ops ops(*writer_);
    left = ops.settle_owner_recent(owner_recent_rows_, owner_recent_rows_);
    writer_->exec("COMMIT");
  } catch (...) {
    writer_->exec("ROLLBACK");
    throw;
  }
  if (left.merged) {
    owner_merges_.fetch_add(1);
  }
  note_owner_recent(left.rows, false);
  return left.rows;
}

void SqliteStore::run_owner_merges() {
  std::unique_lock lock(merge_m_);
  while (!merge_stop_) {
    if (owner_recent_now_ < owner_recent_rows_) {
      merge_cv_.wait(lock);
      continue;
    }
    // Idle: no documents written for owner_merge_quiet_ (a sync commits several times a second).
    const auto due = std::max(last_owner_write_ + owner_merge_quiet_, merge_not_before_);
    if (std::chrono::steady_clock::now() < due) {
      merge_cv_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    bool failed = false;
    try {
      merge_owner_step();  // a step of owner_recent_rows_: a write waits for one step at most
    } catch (const std::exception& e) {
      spdlog::warn("msg=\"merging the owner index failed; trying again in a minute\" error=\"{}\"", e.what());
      failed = true;
    }
    lock.lock();
    if (failed) {
      merge_not_before_ = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
  }
}

bool SqliteStore::ping() {
  try {
    auto conn = acquire_reader();
    bool ok = false;
    {
      auto st = conn->prepare("SELECT 1");
      ok = st.step();
    }
    release_reader(std::move(conn));
    return ok;
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<Connection> SqliteStore::acquire_reader() {
  std::unique_lock lock(pool_mutex_);
  pool_cv_.wait(lock, [this] { return !readers_.empty(); });
  auto conn = std::move(readers_.back());
  readers_.pop_back();
  return conn;
}

void SqliteStore::release_reader(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(pool_mutex_);
    readers_.push_back(std::move(conn));
  }
  pool_cv_.notify_one();
}

void SqliteStore::read(const std::function<void(Reader&)>& fn) {
  auto conn = acquire_reader();
  struct Return {
    SqliteStore* self;
    std::unique_ptr<Connection>& conn;
    ~Return() { self->release_reader(std::move(conn)); }
  } give_back{this, conn};
  conn->exec("BEGIN");
  try {
    Ops ops(*conn);
    fn(ops);
    conn->exec("COMMIT");
  } catch (...) {
    conn->exec("ROLLBACK");
    throw;
  }
}

void SqliteStore::begin_write() {
  // BEGIN IMMEDIATE would take the write lock of every attached file, the search index's too,
  // and hold the indexer up for the whole transaction. A write statement that changes nothing
  // takes the database's lock alone, at once, waiting within the busy timeout as BEGIN IMMEDIATE
  // does; the index file is only read.
  writer_->exec("BEGIN");
  try {
    writer_->exec("UPDATE schema_migrations SET version = version WHERE 0");
  } catch (...) {
    writer_->exec("ROLLBACK");
    throw;
  }
}

void SqliteStore::write(const std::function<void(Writer&)>& fn) {
  IndexChanges index;
  {
    std::lock_guard lock(write_mutex_);
    restart_wal_if_large();
    begin_write();
    index.indexed_through = indexer_->indexed_through();
    index.trimmed_through = &trimmed_through_;
    const std::int64_t trimmed_before = trimmed_through_;
    try {
      Ops ops(*writer_, &index);
      fn(ops);
      // The owner index merges when the writes pause (run_owner_merges); a write merges a step
      // only once owner_recent has reached its bound (StoreOptions::owner_recent_max_rows).
      std::optional<Ops::OwnerRecent> recent;
      if (ops.wrote_owner_index()) {
        recent = ops.settle_owner_recent(owner_recent_max_rows_, owner_recent_rows_);
      }
      writer_->exec("COMMIT");
      if (recent) {
        if (recent->merged) {
          owner_merges_.fetch_add(1);
        }
        note_owner_recent(recent->rows, true);
      }
    } catch (...) {
      trimmed_through_ = trimmed_before;  // the deletion rolled back with the rest
      writer_->exec("ROLLBACK");
      throw;
    }
  }
  if (index.last_seq == 0) {
    return;
  }
  // Only grows: commits are serialized, and a change's number is the table's next.
  last_change_.store(index.last_seq);
  if (index.deferred) {
    indexer_->nudge_soon();  // a job's commit: indexed with the next paced pass
  } else {
    wait_for_index(index.last_seq);  // the wait starts a pass at once (SearchIndexer::wait_for)
  }
}

void SqliteStore::wait_for_search_index() {
  if (const auto seq = last_change_.load(); seq > 0) {
    wait_for_index(seq);
  }
}

void SqliteStore::wait_for_index(std::int64_t seq) {
  // What the caller wrote, it can search once this returns: the indexer trails the commit by one
  // pass (docs/performance.md). A bound, so that a stuck index never holds a request or a job.
  constexpr auto kIndexWait = std::chrono::seconds(5);
  if (!indexer_->wait_for(seq, std::chrono::steady_clock::now() + kIndexWait)) {
    spdlog::warn("msg=\"the search index is behind the documents\" change={} indexed_through={}", seq,
                 indexer_->indexed_through());
  }
}

}  // namespace mladmin::store::sqlite
