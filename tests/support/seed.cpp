#include "support/seed.hpp"

#include <array>
#include <functional>
#include <stdexcept>

#include "store/sqlite/connection.hpp"

namespace mladmin::test {

namespace {

// 2026-01-01T00:00:00Z; records get one second apart so lists have a stable order.
constexpr domain::TimestampMs kBaseTime = 1767225600000;

constexpr std::array<const char*, 6> kPhrases = {
    "Walked along the river before work and felt the cold wake me up.",
    "A long day of meetings; the afternoon review went better than expected.",
    "Cooked dinner for friends, then read two chapters of the novel.",
    "Slept badly. Coffee helped, the run after lunch helped more.",
    "Finished the draft and sent it off. Relief, mostly.",
    "Rain all day, so I stayed in and sorted old photographs.",
};

}  // namespace

std::string database_path(const std::string& url) {
  const std::string scheme = "sqlite://";
  return url.rfind(scheme, 0) == 0 ? url.substr(scheme.size()) : url;
}

domain::JournalEntry valid_journal_entry(const std::string& id, const std::string& user_id) {
  const auto n = std::hash<std::string>{}(id);
  domain::JournalEntry e;
  e.id = id;
  e.user_id = user_id;
  e.title = "Entry " + id;
  e.body = std::string(kPhrases[n % kPhrases.size()]) + " (" + id + ")";
  e.mood = static_cast<std::int64_t>(n % 5) + 1;
  e.tags = {"seeded"};
  e.created_at = kBaseTime + static_cast<domain::TimestampMs>(n % 1'000'000) * 1000;
  e.updated_at = e.created_at;
  return e;
}

domain::Goal valid_goal(const std::string& id, const std::string& user_id) {
  const auto n = std::hash<std::string>{}(id);
  domain::Goal g;
  g.id = id;
  g.user_id = user_id;
  g.title = "Goal " + id;
  g.description = kPhrases[n % kPhrases.size()];
  g.status = n % 2 == 0 ? "open" : "done";
  g.target_date = "2027-06-30";
  g.created_at = kBaseTime + static_cast<domain::TimestampMs>(n % 1'000'000) * 1000;
  g.updated_at = g.created_at;
  return g;
}

void seed(const std::string& database_url, const std::function<void(store::Writer&)>& fn) {
  auto store = store::open_store(database_url, 1);
  store->write(fn);
}

void seed_journal_entries(const std::string& database_url, const std::string& user_id, std::size_t count,
                          const std::string& prefix) {
  seed(database_url, [&](store::Writer& w) {
    for (std::size_t i = 0; i < count; ++i) {
      auto e = valid_journal_entry(prefix + std::to_string(i), user_id);
      w.save_journal_entry(e);
    }
  });
}

void seed_goals(const std::string& database_url, const std::string& user_id, std::size_t count,
                const std::string& prefix) {
  seed(database_url, [&](store::Writer& w) {
    for (std::size_t i = 0; i < count; ++i) {
      auto g = valid_goal(prefix + std::to_string(i), user_id);
      w.save_goal(g);
    }
  });
}

std::int64_t query_int(const std::string& database_url, const std::string& sql) {
  store::sqlite::Connection conn(database_path(database_url));
  auto st = conn.prepare(sql);
  if (!st.step()) {
    throw std::runtime_error("no row from: " + sql);
  }
  return st.int64(0);
}

void exec_sql(const std::string& database_url, const std::string& sql) {
  store::sqlite::Connection conn(database_path(database_url));
  conn.exec(sql);
}

std::string query_text(const std::string& database_url, const std::string& sql, const std::string& param) {
  store::sqlite::Connection conn(database_path(database_url));
  auto st = conn.prepare(sql);
  st.bind(1, std::string_view(param));
  return st.step() ? st.text(0) : std::string();
}

}  // namespace mladmin::test
