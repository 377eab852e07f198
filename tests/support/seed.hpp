#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "domain/source.hpp"
#include "store/store.hpp"

namespace mladmin::test {

/// A journal entry of `user_id` that a sync accepts, with fixed timestamps.
domain::JournalEntry valid_journal_entry(const std::string& id, const std::string& user_id);
/// A goal of `user_id` that a sync accepts.
domain::Goal valid_goal(const std::string& id, const std::string& user_id);

/// Runs `fn` in one write transaction on a server's database (the server has migrated it).
/// Writing while the server runs is fine: SQLite WAL with a busy timeout.
void seed(const std::string& database_url, const std::function<void(store::Writer&)>& fn);

/// Writes `count` valid journal entries (or goals) of `user_id` in one transaction, with ids
/// `prefix` + index.
void seed_journal_entries(const std::string& database_url, const std::string& user_id, std::size_t count,
                          const std::string& prefix);
void seed_goals(const std::string& database_url, const std::string& user_id, std::size_t count,
                const std::string& prefix);

/// The file of a sqlite:// database URL.
std::string database_path(const std::string& database_url);

/// Runs `sql` on the database file and answers the integer in the first column of its first row:
/// for checks the store interface does not offer (documents joined to their records).
std::int64_t query_int(const std::string& database_url, const std::string& sql);
/// The same for a text result with one bound text parameter (empty when there is no row).
std::string query_text(const std::string& database_url, const std::string& sql, const std::string& param);
/// Runs SQL statements without results on the database file: for states the store interface
/// does not write, such as jobs that ended long ago.
void exec_sql(const std::string& database_url, const std::string& sql);

}  // namespace mladmin::test
