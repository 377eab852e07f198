// Latency of the stats report (GET /api/ml/stats, without HTTP) at scale: 1,000,000 documents and
// 100,000 sync jobs. Builds the database by writing rows with SQL in big transactions (about
// 1,000 users with a skewed share of the documents, 70 % journal entries, a source record per
// document, jobs spread over 90 days, ~2 % of the items failed with the sync rules' reasons,
// a small backlog after the all-users watermarks), then times Reader::read_stats for a 1-day range
// by hour, a 30-day and a 90-day range by day.
// Usage: build/release/bench/stats_bench [documents=1000000] [jobs=100000] [runs=100]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "domain/stats.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/stats_queries.hpp"

using namespace mladmin;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kUsers = 1000;
constexpr domain::TimestampMs kDay = domain::kDayMs;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// A user index with a skewed distribution: a few writers hold many documents.
int pick_user(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double x = u(rng);
  return static_cast<int>(kUsers * x * x);
}

std::string user_id(int i) {
  return "user-" + std::to_string(i);
}

void build(const std::string& path, long documents, long jobs, domain::TimestampMs now) {
  {
    store::sqlite::SqliteStore store(path, 1);
    store.migrate();
  }
  store::sqlite::Connection c(path);
  std::mt19937_64 rng(42);
  const auto t = Clock::now();

  c.exec("BEGIN");
  {
    // 1 % of the owners are deleted users: documents without a users row.
    auto st = c.prepare(
        "INSERT INTO users (id, email, email_norm, name, role, status, password_hash, token_version, "
        "created_at, updated_at) VALUES (?1, ?2, ?2, ?3, 'user', 'active', 'x', 0, 0, 0)");
    for (int i = 0; i < kUsers; ++i) {
      if (i % 100 == 99) {
        continue;
      }
      const auto email = "writer" + std::to_string(i) + "@bench.test";
      st.bind(1, std::string_view(user_id(i)))
          .bind(2, std::string_view(email))
          .bind(3, std::string_view("Writer"));
      st.exec();
      st.reset();
    }
  }
  c.exec("COMMIT");

  // Source records and their documents, 100,000 per transaction.
  const std::string body(120, 'x');
  long journal_seq = 0;
  long goal_seq = 0;
  for (long done = 0; done < documents;) {
    c.exec("BEGIN");
    auto je = c.prepare(
        "INSERT INTO journal_entries (id, user_id, title, body, mood, tags, created_at, updated_at, "
        "change_seq) VALUES (?1, ?2, 't', ?3, 3, '[]', 0, 0, ?4)");
    auto go = c.prepare(
        "INSERT INTO goals (id, user_id, title, description, status, created_at, updated_at, change_seq) "
        "VALUES (?1, ?2, 't', ?3, 'open', 0, 0, ?4)");
    auto doc = c.prepare(
        "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, content_hash, "
        "synced_at, version, job_id) VALUES (?1, ?2, ?3, ?4, 't', ?5, '{}', 'h', 0, 1, 'job')");
    for (long i = 0; i < 100000 && done < documents; ++i, ++done) {
      const bool journal = rng() % 10 < 7;
      const auto id = "src-" + std::to_string(done);
      const auto user = user_id(pick_user(rng));
      auto& src = journal ? je : go;
      src.bind(1, std::string_view(id))
          .bind(2, std::string_view(user))
          .bind(3, std::string_view(body))
          .bind(4, static_cast<std::int64_t>(journal ? ++journal_seq : ++goal_seq));
      src.exec();
      src.reset();
      doc.bind(1, std::string_view("doc-" + std::to_string(done)))
          .bind(2, std::string_view(user))
          .bind(3, std::string_view(journal ? "journal_entries" : "goals"))
          .bind(4, std::string_view(id))
          .bind(5, std::string_view(body));
      doc.exec();
      doc.reset();
    }
    c.exec("COMMIT");
  }
  // The counters, as migration 0009 backfills them (the store keeps them from then on); and a
  // backlog of 1,000 journal entries and 100 goals after the all-users watermarks.
  c.exec(
      "INSERT INTO document_counts (user_id, source_type, count) SELECT user_id, source_type, count(*) "
      "FROM documents GROUP BY user_id, source_type");
  c.exec("INSERT INTO sync_watermarks (scope_key, seq) VALUES ('all|journal_entries', " +
         std::to_string(std::max(0L, journal_seq - 1000)) + "), ('all|goals', " +
         std::to_string(std::max(0L, goal_seq - 100)) + ")");
  std::printf("built %ld documents and source records in %.1f s\n", documents, seconds_since(t));

  // Jobs over the last 90 days, with their item errors (~2 % of the items) counted as
  // append_job_errors counts them.
  const auto t2 = Clock::now();
  static const char* kReasons[] = {"body is empty",
                                   "title is empty",
                                   "mood 7 is outside 1-5",
                                   "mood 0 is outside 1-5",
                                   "status 'later' is neither open nor done",
                                   "body is longer than 64 KiB"};
  static const char* kJobFailures[] = {"the sink answered 503 after 5 attempts",
                                       "the sink answered 502 after 5 attempts",
                                       "the job stopped on an internal error; it has been logged"};
  long errors_total = 0;
  for (long done = 0; done < jobs;) {
    c.exec("BEGIN");
    auto job = c.prepare(
        "INSERT INTO jobs (id, user_id, type, status, scope, mode, total_items, synced_items, skipped_items, "
        "failed_items, error_count, start_time, end_time, running_ms, created_at, updated_at, "
        "failure_reason) "
        "VALUES (?1, 'starter', ?2, ?3, 'user', 'incremental', ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?8, ?9, "
        "?11)");
    auto err = c.prepare(
        "INSERT INTO job_errors (job_id, seq, item_id, reason, at, attempt) VALUES (?1, ?2, ?3, ?4, ?5, 1)");
    for (long i = 0; i < 10000 && done < jobs; ++i, ++done) {
      const auto id = "job-" + std::to_string(done);
      const domain::TimestampMs end = now - static_cast<domain::TimestampMs>(rng() % (90 * kDay));
      const auto items = static_cast<std::int64_t>(10 + rng() % 190);
      const auto running = static_cast<std::int64_t>(50 + rng() % 5000);
      const auto roll = rng() % 100;
      const char* status = roll < 95 ? "completed" : roll < 98 ? "failed" : "cancelled";
      std::int64_t failed = 0;
      for (std::int64_t k = 0; k < items; ++k) {
        failed += rng() % 50 == 0 ? 1 : 0;
      }
      const auto skipped = items / 10;
      const auto synced = items - skipped - failed;
      job.bind(1, std::string_view(id))
          .bind(2, std::string_view(rng() % 10 < 7 ? "journal_entries" : "goals"))
          .bind(3, std::string_view(status))
          .bind(4, items)
          .bind(5, synced)
          .bind(6, skipped)
          .bind(7, failed)
          .bind(8, end - running)
          .bind(9, end)
          .bind(10, running)
          .bind(11, std::string_view(std::string(status) == "failed" ? kJobFailures[rng() % 3] : ""));
      job.exec();
      job.reset();
      std::vector<domain::ItemError> errors;
      for (std::int64_t k = 0; k < failed; ++k) {
        errors.push_back({"src-" + std::to_string(rng() % 1000000), kReasons[rng() % 6], end - running + k});
        err.bind(1, std::string_view(id))
            .bind(2, k + 1)
            .bind(3, std::string_view(errors.back().item_id))
            .bind(4, std::string_view(errors.back().reason))
            .bind(5, errors.back().at);
        err.exec();
        err.reset();
      }
      store::sqlite::count_item_errors(c, errors);
      errors_total += failed;
    }
    c.exec("COMMIT");
  }
  c.exec("ANALYZE");
  std::printf("built %ld jobs with %ld item errors in %.1f s\n", jobs, errors_total, seconds_since(t2));
}

void measure(store::Store& store, const char* label, domain::TimestampMs from, domain::TimestampMs to,
             domain::StatsBucket bucket, int runs) {
  store::StatsQuery q;
  q.from = from;
  q.to = to;
  q.bucket = bucket;
  std::vector<double> ms;
  store::StatsReport last;
  for (int i = 0; i < runs + 3; ++i) {
    const auto t = Clock::now();
    last = store.read_value([&](store::Reader& r) { return r.read_stats(q); });
    if (i >= 3) {  // the first runs warm the page cache
      ms.push_back(seconds_since(t) * 1000.0);
    }
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))]; };
  std::printf(
      "%-16s %4zu buckets, %6lld jobs, %7lld items in range: p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms "
      "(%d runs)\n",
      label, last.series.size(), static_cast<long long>(last.jobs.jobs),
      static_cast<long long>(last.jobs.items()), pct(0.50), pct(0.99), ms.back(), runs);
  std::printf(
      "                 documents %lld (journal %lld, goals %lld), top user %s with %lld, pending %lld/%lld, "
      "%zu item failure kinds, %zu job failure kinds\n",
      static_cast<long long>(last.documents.total()), static_cast<long long>(last.documents.journal_entries),
      static_cast<long long>(last.documents.goals),
      last.top_users.empty() ? "-" : last.top_users[0].user_id.c_str(),
      last.top_users.empty() ? 0LL : static_cast<long long>(last.top_users[0].documents.total()),
      static_cast<long long>(last.pending.journal_entries), static_cast<long long>(last.pending.goals),
      last.item_failures.size(), last.job_failures.size());
}

}  // namespace

int main(int argc, char** argv) {
  const long documents = argc > 1 ? std::atol(argv[1]) : 1000000;
  const long jobs = argc > 2 ? std::atol(argv[2]) : 100000;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 100;
  const auto dir =
      std::filesystem::temp_directory_path() / ("mladmin-stats-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "bench.db").string();
  const domain::TimestampMs now = domain::SystemClock().now_ms();
  build(path, documents, jobs, now);
  {
    store::sqlite::SqliteStore store(path, 2);
    // The documents went in by SQL, so the search indexer builds the full-text index from them
    // first (docs/performance.md): measured after it, not beside it.
    const auto t3 = Clock::now();
    store.search_indexer().wait_for(0, std::chrono::steady_clock::now() + std::chrono::minutes(30));
    std::printf("full-text index built in %.1f s\n", seconds_since(t3));
    std::printf("database file: %.0f MiB\n",
                static_cast<double>(std::filesystem::file_size(path)) / (1024.0 * 1024.0));
    measure(store, "1 day by hour", now - kDay, now, domain::StatsBucket::hour, runs);
    measure(store, "30 days by day", now - 30 * kDay, now, domain::StatsBucket::day, runs);
    measure(store, "90 days by day", now - 90 * kDay, now, domain::StatsBucket::day, runs);
  }
  if (std::getenv("STATS_BENCH_KEEP") != nullptr) {
    std::printf("kept %s\n", path.c_str());  // for EXPLAIN QUERY PLAN and the like
  } else {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
