// Document search latency at scale (issue 4): builds a store of N documents (default 1,000,000,
// ~450-byte texts drawn from a 5,000-word vocabulary with a Zipf-like frequency, 1,000 users, two
// types) through the store's own write path, then times GET /api/ml/documents' store query
// (Reader::search_documents: ranking, filters, snippets of one 50-hit page) for each query kind.
// Usage: build/release/bench/search_bench [N=1000000] [runs=200] [db path to reuse]
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "domain/document_filter.hpp"
#include "domain/search_query.hpp"
#include "index_segments.hpp"
#include "store/sqlite/document_queries.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"
#include "store/store_options.hpp"

using namespace mladmin;
using Clock = std::chrono::steady_clock;

namespace {

std::string word(std::size_t rank) {
  // Pronounceable, distinct words: rank 0 → "ba", 1 → "be", …
  static const char* kSyl[] = {"ba", "be", "bi", "bo", "bu", "ka", "ke", "ki", "ko", "ku",
                               "la", "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu",
                               "na", "ne", "ni", "no", "nu", "ra", "re", "ri", "ro", "ru",
                               "sa", "se", "si", "so", "su", "ta", "te", "ti", "to", "tu"};
  std::string out;
  std::size_t r = rank;
  do {
    out += kSyl[r % 40];
    r /= 40;
  } while (r > 0);
  return out + "x";  // at least 3 letters, never a prefix of another word's start pattern
}

/// The CPU time this thread has used, in ms: a measure the other programs on the machine change
/// far less than the wall clock.
double cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(std::ceil(static_cast<double>(v.size()) * p)) - 1)];
}

struct Timing {
  double p50 = 0, p99 = 0, mean = 0;
  double cpu_p50 = 0, cpu_p99 = 0;  ///< the same, in CPU time of the searching thread
  double first = 0, max = 0;        ///< the first run (corpus counts not cached yet), the slowest
  std::size_t hits = 0;
  std::int64_t ranked_over = -1;  ///< -1: every match ranked
  int timeouts = 0;
};

Timing measure(store::Store& s, const store::DocumentQuery& q, int runs) {
  std::vector<double> ms;
  std::vector<double> cpu;
  std::size_t hits = 0;
  Timing t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    const double c0 = cpu_ms();
    try {
      auto page = s.read_value([&](store::Reader& r) { return r.search_documents(q); });
      hits = page.items.size();
      t.ranked_over = page.ranked_over.value_or(-1);
    } catch (const std::exception&) {
      ++t.timeouts;  // query_timeout: counted, and timed like the others
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cpu.push_back(cpu_ms() - c0);
  }
  t.cpu_p50 = percentile(cpu, 0.5);
  t.cpu_p99 = percentile(cpu, 0.99);
  t.first = ms.front();
  std::sort(ms.begin(), ms.end());
  t.max = ms.back();
  t.p50 = ms[ms.size() / 2];
  t.p99 = ms[std::min(ms.size() - 1, static_cast<std::size_t>(std::ceil(ms.size() * 0.99)) - 1)];
  for (double v : ms) {
    t.mean += v / static_cast<double>(ms.size());
  }
  t.hits = hits;
  return t;
}

std::string fts(const std::string& q) {
  return domain::SearchQuery::parse(q).query->to_fts5();
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 200;
  const bool reuse = argc > 3;
  const auto dir =
      std::filesystem::temp_directory_path() / ("mladmin-search-bench-" + std::to_string(::getpid()));
  const std::string path = reuse ? std::string(argv[3]) : (dir / "bench.db").string();
  if (!reuse) {
    std::filesystem::create_directories(dir);
  }
  {
    // MLADMIN_BENCH_UNMERGED=1: the owner index is not merged while the queries run either.
    store::StoreOptions options;
    const bool unmerged = std::getenv("MLADMIN_BENCH_UNMERGED") != nullptr;
    if (unmerged) {
      options.owner_merge_quiet = std::chrono::hours(24);
    }
    auto store = store::open_store("sqlite://" + path, 2, options);
    store->migrate();
    const bool build =
        store->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); }) < n;
    if (build) {
      // Zipf-like: P(rank) ∝ 1 / (rank + 1), over 5,000 words.
      constexpr std::size_t kVocabulary = 5000;
      std::vector<double> cdf(kVocabulary);
      double total = 0;
      for (std::size_t i = 0; i < kVocabulary; ++i) {
        total += 1.0 / static_cast<double>(i + 1);
        cdf[i] = total;
      }
      std::mt19937_64 rng(42);
      std::uniform_real_distribution<double> u(0, total);
      auto draw = [&] {
        return word(static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin()));
      };
      auto sentence = [&](int words) {
        std::string s;
        for (int i = 0; i < words; ++i) {
          s += (i > 0 ? " " : "") + draw();
        }
        return s;
      };
      const auto t0 = Clock::now();
      long made = 0;
      while (made < n) {
        std::vector<store::DocumentWrite> journal;
        std::vector<store::DocumentWrite> goals;
        for (int i = 0; i < 5000 && made < n; ++i, ++made) {
          store::DocumentWrite d;
          d.id = "doc-" + std::to_string(made);
          d.user_id = "user-" + std::to_string(made % 1000);
          d.source_type = made % 5 == 0 ? domain::SourceType::goals : domain::SourceType::journal_entries;
          d.source_id = "src-" + std::to_string(made);
          d.title = sentence(4);
          d.text = sentence(70);
          d.metadata_json = "{}";
          d.content_hash = std::to_string(made);
          d.synced_at = 1'700'000'000'000 + made * 1000;
          d.source_created_at = d.synced_at - 86'400'000;
          d.job_id = "bench";
          (d.source_type == domain::SourceType::goals ? goals : journal).push_back(std::move(d));
        }
        store->write([&](store::Writer& w) {
          w.defer_search_index();  // as a sync's commits: the indexer takes them a paced pass at a time
          w.upsert_documents(domain::SourceType::journal_entries, journal);
          w.upsert_documents(domain::SourceType::goals, goals);
        });
      }
      store->wait_for_search_index();
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("built %ld documents in %.1f s (%.0f docs/s) at %s\n", n, secs,
                  static_cast<double>(n) / secs, path.c_str());
    }
    // The indexer merges the index's segments once it is idle (docs/performance.md, "FTS5 merges
    // when the indexer is idle"): the queries are timed on the merged index, or with
    // MLADMIN_BENCH_UNMERGED=1 on the index as the writes left it (the worst a search meets right
    // after a large sync).
    if (auto* sqlite_store = dynamic_cast<store::sqlite::SqliteStore*>(store.get());
        sqlite_store != nullptr) {
      auto& indexer = sqlite_store->search_indexer();
      const auto before = index_segments(path);
      if (unmerged) {
        indexer.hold_merges(true);
        std::printf("full-text index: %lld segments, held unmerged\n", before);
        std::printf("owner index: %lld rows in owner_recent, held unmerged\n",
                    static_cast<long long>(sqlite_store->owner_recent_rows()));
      } else {
        // The owner index merges once the writes pause too (docs/performance.md, "A user's
        // documents: an index in two levels"), beside the index's merge.
        const auto recent = sqlite_store->owner_recent_rows();
        const auto t0 = Clock::now();
        const bool owner_merged = sqlite_store->wait_owner_merged(t0 + std::chrono::minutes(10));
        std::printf(
            "owner index: %lld rows in owner_recent, %lld after its merges, %.1f s after the writes%s\n",
            static_cast<long long>(recent), static_cast<long long>(sqlite_store->owner_recent_rows()),
            std::chrono::duration<double>(Clock::now() - t0).count(),
            owner_merged ? "" : " (not finished in 10 minutes)");
        const bool merged = indexer.wait_merged(t0 + std::chrono::minutes(10));
        std::printf("full-text index: %lld segments, merged into %lld in %.1f s%s\n", before,
                    index_segments(path), std::chrono::duration<double>(Clock::now() - t0).count(),
                    merged ? "" : " (not finished in 10 minutes)");
      }
    }
    const auto docs = store->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); });
    auto count = [&](const std::string& q) {
      store::DocumentFilter f;
      f.match = fts(q);
      return store->read_value([&](store::Reader& r) { return r.count_matching_documents(f); });
    };
    // Word ranks: 10 is common (~1/12 of texts' words are in the top 10), 300 mid, 2000 rare.
    const std::string common = word(10), mid = word(300), rare = word(2000);
    struct Case {
      const char* name;
      std::string q;
      store::DocumentSort sort;
      bool filtered;
      bool user = true;  ///< with `filtered`: the user filter too
    };
    const std::vector<Case> cases = {
        {"one word, mid frequency, relevance", mid, store::DocumentSort::relevance, false},
        {"one word, rare, relevance", rare, store::DocumentSort::relevance, false},
        {"one word, common, relevance", common, store::DocumentSort::relevance, false},
        {"one word, commonest (rank 0), relevance", word(0), store::DocumentSort::relevance, false},
        {"one word, commonest, newest", word(0), store::DocumentSort::newest, false},
        {"one word, common, newest", common, store::DocumentSort::newest, false},
        {"one word, rare, newest", rare, store::DocumentSort::newest, false},
        {"phrase of two mid words, relevance", "\"" + word(300) + " " + word(301) + "\"",
         store::DocumentSort::relevance, false},
        {"phrase of two common words, relevance", "\"" + word(10) + " " + word(11) + "\"",
         store::DocumentSort::relevance, false},
        {"mid word + type + user + 30 days, relevance", mid, store::DocumentSort::relevance, true},
        {"commonest word + type + user + 30 days, relevance", word(0), store::DocumentSort::relevance, true},
        {"commonest word + type + 30 days, relevance", word(0), store::DocumentSort::relevance, true, false},
        {"mid word + type + user + 30 days, newest", mid, store::DocumentSort::newest, true},
        {"no text, type + user + 30 days, newest", "", store::DocumentSort::newest, true},
        {"no text, newest (first page)", "", store::DocumentSort::newest, false},
    };
    std::printf("documents: %lld; runs per query: %d; page size 50\n", static_cast<long long>(docs), runs);
    std::printf("%-50s %8s %7s %8s %8s %8s %8s %8s %8s %8s\n", "query", "matches", "ranked", "p50 ms",
                "p99 ms", "mean ms", "first ms", "max ms", "cpu p50", "cpu p99");
    // MLADMIN_BENCH_RANK_CANDIDATES=0 ranks every match (as before the bound), for comparison.
    const char* bound_env = std::getenv("MLADMIN_BENCH_RANK_CANDIDATES");
    const std::size_t bound = bound_env != nullptr ? static_cast<std::size_t>(std::atol(bound_env)) : 20000;
    // MLADMIN_BENCH_RANK_BUDGET_US=0: no CPU-time limit on the first page's read of candidates.
    const char* budget_env = std::getenv("MLADMIN_BENCH_RANK_BUDGET_US");
    if (budget_env != nullptr) {
      store::sqlite::documents::set_rank_budget(std::chrono::microseconds(std::atol(budget_env)));
    }
    const auto budget = store::sqlite::documents::rank_budget();
    std::printf("rank_candidates: %zu; rank_budget: %lld us\n", bound,
                static_cast<long long>(budget.count()));
    // MLADMIN_BENCH_ONLY=text: only the queries whose name contains it (for a profiler).
    const char* only = std::getenv("MLADMIN_BENCH_ONLY");
    for (const auto& c : cases) {
      if (only != nullptr && std::string(c.name).find(only) == std::string::npos) {
        continue;
      }
      store::DocumentQuery q;
      q.limit = 50;
      q.rank_candidates = bound;
      q.sort = c.sort;
      if (!c.q.empty()) {
        q.filter.match = fts(c.q);
      }
      if (c.filtered) {
        q.filter.type = domain::SourceType::journal_entries;
        q.filter.user_id = "user-7";
        q.filter.from = 1'700'000'000'000 + (n / 2) * 1000;
        q.filter.to = *q.filter.from + 30LL * 86'400'000;
      }
      if (c.filtered && !c.user) {
        q.filter.user_id.reset();  // type and dates only: driven by the full-text index
      }
      const auto matches = c.q.empty() ? -1 : count(c.q);
      const auto t = measure(*store, q, runs);
      const std::string ranked = t.ranked_over < 0 ? "all" : std::to_string(t.ranked_over);
      std::printf("%-50s %8lld %7s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f%s\n", c.name,
                  static_cast<long long>(matches), ranked.c_str(), t.p50, t.p99, t.mean, t.first, t.max,
                  t.cpu_p50, t.cpu_p99,
                  t.timeouts > 0 ? (" (" + std::to_string(t.timeouts) + " query_timeout)").c_str() : "");
    }
  }
  if (!reuse) {
    std::printf("(database kept at %s; pass it as the third argument to re-run without rebuilding)\n",
                path.c_str());
  }
  return 0;
}
