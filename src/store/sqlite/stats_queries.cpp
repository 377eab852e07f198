#include "store/sqlite/stats_queries.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "domain/stats.hpp"

namespace mladmin::store::sqlite {

namespace {

/// The sync job types the report covers (bulk operations are jobs too, but move no items of a
/// source type).
constexpr const char* kSyncTypes = "type IN ('journal_entries', 'goals')";

constexpr std::size_t kTopFailures = 20;

std::int64_t& of_type(TypeCounts& counts, std::string_view type) {
  return type == "goals" ? counts.goals : counts.journal_entries;
}

/// Merges rows that share a kind, sorts most frequent first (then by kind, for a stable order) and
/// keeps the first kTopFailures.
std::vector<FailureCount> top_failures(std::vector<FailureCount> rows) {
  std::vector<FailureCount> merged;
  std::unordered_map<std::string, std::size_t> at;
  for (auto& row : rows) {
    auto [it, fresh] = at.emplace(row.reason, merged.size());
    if (fresh) {
      merged.push_back(std::move(row));
    } else {
      merged[it->second].count += row.count;
    }
  }
  std::sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) {
    return a.count != b.count ? a.count > b.count : a.reason < b.reason;
  });
  if (merged.size() > kTopFailures) {
    merged.resize(kTopFailures);
  }
  return merged;
}

void read_documents(Connection& c, const StatsQuery& q, StatsReport& out) {
  // document_counts holds one row per (owner, type): these scan the users, not the documents.
  auto totals = c.prepare("SELECT source_type, sum(count) FROM document_counts GROUP BY source_type");
  while (totals.step()) {
    of_type(out.documents, totals.text(0)) = totals.int64(1);
  }
  auto top = c.prepare(
      "SELECT t.user_id, t.journal_entries, t.goals, u.email, u.name FROM ("
      "  SELECT user_id, sum(count) AS total,"
      "         sum(CASE WHEN source_type = 'journal_entries' THEN count ELSE 0 END) AS journal_entries,"
      "         sum(CASE WHEN source_type = 'goals' THEN count ELSE 0 END) AS goals"
      "  FROM document_counts GROUP BY user_id HAVING total > 0 ORDER BY total DESC, user_id LIMIT ?1"
      ") AS t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.total DESC, t.user_id");
  top.bind(1, static_cast<std::int64_t>(q.top_users));
  while (top.step()) {
    UserDocumentCounts u;
    u.user_id = top.text(0);
    u.documents.journal_entries = top.int64(1);
    u.documents.goals = top.int64(2);
    u.email = top.opt_text(3);
    u.name = top.opt_text(4);
    out.top_users.push_back(std::move(u));
  }
}

void read_pending(Connection& c, StatsReport& out) {
  // A range count over the unique change_seq index: its cost is the backlog itself, which the
  // next all-users incremental sync has to read anyway.
  for (const auto type : {domain::SourceType::journal_entries, domain::SourceType::goals}) {
    const std::string table(domain::to_string(type));
    auto st =
        c.prepare("SELECT count(*) FROM " + table +
                  " WHERE change_seq > COALESCE((SELECT seq FROM sync_watermarks WHERE scope_key = ?1), 0)");
    st.bind(1, std::string_view("all|" + table));
    st.step();
    of_type(out.pending, table) = st.int64(0);
  }
}

void read_jobs(Connection& c, const StatsQuery& q, StatsReport& out) {
  const auto size = domain::bucket_ms(q.bucket);
  const auto origin = domain::bucket_start(q.from, q.bucket);
  const auto buckets = domain::bucket_count(q.from, q.to, q.bucket);
  out.series.resize(static_cast<std::size_t>(buckets));
  for (std::int64_t i = 0; i < buckets; ++i) {
    out.series[static_cast<std::size_t>(i)].start = origin + i * size;
  }
  // One range scan of jobs_stats_by_end_time (slot IS NULL is its condition: finished jobs).
  auto st = c.prepare(
      std::string("SELECT (end_time - ?3) / ?4 AS b, count(*), sum(status = 'completed'), "
                  "sum(status = 'failed'), sum(status = 'cancelled'), sum(synced_items), "
                  "sum(skipped_items), sum(failed_items), sum(running_ms), count(start_time), "
                  "COALESCE(sum(end_time - start_time), 0), COALESCE(max(end_time - start_time), 0) "
                  "FROM jobs WHERE slot IS NULL AND end_time >= ?1 AND end_time < ?2 AND ") +
      kSyncTypes + " AND status IN ('completed', 'failed', 'cancelled') GROUP BY b");
  st.bind(1, q.from).bind(2, q.to).bind(3, origin).bind(4, size);
  auto& t = out.jobs;
  while (st.step()) {
    const auto b = st.int64(0);
    if (b < 0 || b >= buckets) {
      continue;  // cannot happen for end_time in [from, to); guards the index below
    }
    auto& r = out.series[static_cast<std::size_t>(b)];
    r.jobs = st.int64(1);
    r.completed = st.int64(2);
    r.failed = st.int64(3);
    r.cancelled = st.int64(4);
    r.synced_items = st.int64(5);
    r.skipped_items = st.int64(6);
    r.failed_items = st.int64(7);
    r.running_ms = st.int64(8);
    r.started = st.int64(9);
    r.duration_ms = st.int64(10);
    r.max_duration_ms = st.int64(11);
    t.jobs += r.jobs;
    t.completed += r.completed;
    t.failed += r.failed;
    t.cancelled += r.cancelled;
    t.synced_items += r.synced_items;
    t.skipped_items += r.skipped_items;
    t.failed_items += r.failed_items;
    t.running_ms += r.running_ms;
    t.started += r.started;
    t.duration_ms += r.duration_ms;
    t.max_duration_ms = std::max(t.max_duration_ms, r.max_duration_ms);
  }
}

void read_failures(Connection& c, const StatsQuery& q, StatsReport& out) {
  // Item errors: the hourly counters of the hours that overlap the range (at most 24 rows per
  // day and kind), never job_errors itself.
  auto items = c.prepare(
      "SELECT kind, sum(count), max(example) FROM job_error_counts WHERE hour >= ?1 AND hour < ?2 "
      "GROUP BY kind");
  items.bind(1, domain::bucket_start(q.from, domain::StatsBucket::hour)).bind(2, q.to);
  std::vector<FailureCount> rows;
  while (items.step()) {
    rows.push_back({items.text(0), items.int64(1), items.text(2)});
  }
  out.item_failures = top_failures(std::move(rows));

  // Failed jobs of the range, by reason: the same index scan as the job figures, reading the
  // table only for the failed ones. Grouped by text in SQL, then by kind here.
  auto jobs = c.prepare(std::string("SELECT failure_reason, count(*) FROM jobs WHERE slot IS NULL AND "
                                    "end_time >= ?1 AND end_time < ?2 AND status = 'failed' AND ") +
                        kSyncTypes + " GROUP BY failure_reason");
  jobs.bind(1, q.from).bind(2, q.to);
  rows.clear();
  while (jobs.step()) {
    const auto reason = jobs.text(0);
    rows.push_back({domain::failure_kind(reason), jobs.int64(1), reason});
  }
  out.job_failures = top_failures(std::move(rows));
}

}  // namespace

DocumentCountDeltas existing_documents_by_owner(Connection& c, domain::SourceType type,
                                                const std::string& ids_json, std::int64_t sign) {
  auto st = c.prepare(
      "SELECT user_id, count(*) FROM documents WHERE source_type = ?1 AND source_id IN "
      "(SELECT value FROM json_each(?2)) GROUP BY user_id");
  st.bind(1, domain::to_string(type)).bind(2, std::string_view(ids_json));
  DocumentCountDeltas out;
  while (st.step()) {
    out[st.text(0)] = sign * st.int64(1);
  }
  return out;
}

void apply_document_counts(Connection& c, domain::SourceType type, const DocumentCountDeltas& deltas) {
  auto add = c.prepare(
      "INSERT INTO document_counts (user_id, source_type, count) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id, source_type) DO UPDATE SET count = count + excluded.count");
  auto drop = c.prepare("DELETE FROM document_counts WHERE user_id = ?1 AND source_type = ?2 AND count <= 0");
  for (const auto& [user_id, delta] : deltas) {
    if (delta == 0) {
      continue;
    }
    add.bind(1, std::string_view(user_id)).bind(2, domain::to_string(type)).bind(3, delta);
    add.exec();
    add.reset();
    if (delta < 0) {
      drop.bind(1, std::string_view(user_id)).bind(2, domain::to_string(type));
      drop.exec();
      drop.reset();
    }
  }
}

void count_item_errors(Connection& c, const std::vector<domain::ItemError>& errors) {
  std::map<std::pair<domain::TimestampMs, std::string>, std::pair<std::int64_t, std::string>> groups;
  for (const auto& e : errors) {
    auto& g = groups[{domain::bucket_start(e.at, domain::StatsBucket::hour), domain::failure_kind(e.reason)}];
    ++g.first;
    g.second = e.reason;
  }
  auto st = c.prepare(
      "INSERT INTO job_error_counts (hour, kind, count, example) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (hour, kind) DO UPDATE SET count = count + excluded.count, example = excluded.example");
  for (const auto& [key, value] : groups) {
    st.bind(1, key.first)
        .bind(2, std::string_view(key.second))
        .bind(3, value.first)
        .bind(4, std::string_view(value.second));
    st.exec();
    st.reset();
  }
}

void prune_item_error_counts(Connection& c, domain::TimestampMs before) {
  auto st = c.prepare("DELETE FROM job_error_counts WHERE hour <= ?1");
  st.bind(1, before - domain::kHourMs);
  st.exec();
}

StatsReport read_stats(Connection& c, const StatsQuery& query) {
  StatsReport out;
  read_documents(c, query, out);
  read_pending(c, out);
  read_jobs(c, query, out);
  read_failures(c, query, out);
  return out;
}

}  // namespace mladmin::store::sqlite
