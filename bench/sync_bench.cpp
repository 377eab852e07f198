// Full sync throughput into the embedded document store (docs/benchmarks.md: >= 100,000 items/s
// for 1,000,000 journal entries). Seeds N entries of ~450 bytes into a fresh SQLite file, runs a
// full sync with the real engine, and prints seeding and sync rates. A sync's time runs from its
// start until its completion is reported, once every document it wrote is searchable (the job's
// `completed` event and its endTime: docs/jobs.md); the time to its last commit, when its row
// already says `completed`, is printed beside it.
// Usage: build/release/bench/sync_bench [N=1000000] [workers=1] [scope=all|user] [jobs=1] [users=1000]
//   all:  one sync of every user's records;
//   user: `jobs` syncs at once, each of one user's own records (N / users each).
// With MLADMIN_BENCH_ML_URL set (and MLADMIN_BENCH_ML_TOKEN when the service wants one), every
// batch also goes to that ML service through the HttpSink (docs/ml-service-api.md); bench/ml_sink.sh
// runs it against the reference receiver, at once and with 5 ms added per request.
// Tuning for measurements (docs/benchmarks.md): MLADMIN_BENCH_CACHE_MIB (the writer's page cache,
// [database] cache_mib), MLADMIN_BENCH_BATCH_ITEMS, MLADMIN_BENCH_BATCH_MS (a slice's bounds; a
// large value makes slices of exactly BATCH_ITEMS, also under callgrind), MLADMIN_BENCH_COMMIT_GROUP
// (slices per commit at most), MLADMIN_BENCH_COMMIT_SHARE (slices of all jobs per shared transaction at
// most; 0: each job commits alone), MLADMIN_BENCH_PREPARERS (preparers at work at once, at most; 0: no
// bound; unset: the engine's default), MLADMIN_BENCH_SINK_WINDOW (with a sink, batches sent and not
// committed per request in flight, EngineOptions::sink_window), MLADMIN_BENCH_SQL (SQL run on the seeded
// database file before the sync; the full-text index is the file bench.db-search, which the SQL can
// ATTACH, for FTS5's automerge setting say), MLADMIN_BENCH_KEEP (keep the database files and print
// their folder, to look at them afterwards), MLADMIN_BENCH_WAL_RESTART_MIB and
// MLADMIN_BENCH_WAL_RESTART_WAIT_MS (the writer's own RESTART checkpoints), MLADMIN_BENCH_CHECKPOINT_MS
// and MLADMIN_BENCH_CHECKPOINT_NUDGE (the checkpointer's interval and its nudge, in 4 KiB pages'
// worth of frames: store::sqlite::CheckpointOptions), MLADMIN_BENCH_WARM_MIB (touch that much fresh
// anonymous memory after the seeding and unmap it before the sync, so that the sync's new page-cache
// pages come from memory the machine has just used: docs/benchmarks.md, "Fresh memory").
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "index_segments.hpp"
#include "seed_journal.hpp"
#include "sink/http_sink.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"
#include "store/store_options.hpp"
#include "sync/engine.hpp"
#include "util/malloc_tuning.hpp"

using namespace mladmin;
using Clock = std::chrono::steady_clock;

namespace {

/// User and system CPU seconds of this process (every thread) so far: a measure that depends
/// less on the machine's load than the wall time (docs/benchmarks.md).
std::pair<double, double> process_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return {static_cast<double>(u.ru_utime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec) / 1e6,
          static_cast<double>(u.ru_stime.tv_sec) + static_cast<double>(u.ru_stime.tv_usec) / 1e6};
}

/// Read and write system calls of this process so far (/proc/self/io: syscr, syscw).
std::pair<long long, long long> process_io_calls() {
  std::ifstream in("/proc/self/io");
  std::string key;
  long long value = 0;
  std::pair<long long, long long> out{0, 0};
  while (in >> key >> value) {
    if (key == "syscr:") {
      out.first = value;
    } else if (key == "syscw:") {
      out.second = value;
    }
  }
  return out;
}

/// CPU seconds (user + system) of each live thread of this process, by thread id, with its name
/// (/proc/self/task/*/comm and stat): the engine's threads carry names (sync-worker, sync-prepare,
/// search-index, wal-checkpoint).
struct ThreadCpu {
  std::string name;
  double seconds = 0;
};
std::map<long, ThreadCpu> thread_cpu() {
  std::map<long, ThreadCpu> out;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    ThreadCpu t;
    std::ifstream(task.path() / "comm") >> t.name;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
      if (i == 14) {
        utime = std::atof(field.c_str());
      } else if (i == 15) {
        stime = std::atof(field.c_str());
        break;
      }
    }
    t.seconds = (utime + stime) / tick;
    out[std::atol(task.path().filename().c_str())] = t;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  util::tune_malloc();  // as the server's main does
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const long workers = argc > 2 ? std::atol(argv[2]) : 1;
  const bool per_user = argc > 3 && std::string(argv[3]) == "user";
  const long jobs = per_user ? std::max(1L, argc > 4 ? std::atol(argv[4]) : 1) : 1;
  const long users = std::max(jobs, argc > 5 ? std::atol(argv[5]) : 1000L);
  const auto dir = std::filesystem::temp_directory_path() / ("mladmin-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite://" + (dir / "bench.db").string();
  {
    store::StoreOptions store_options;
    if (const char* v = std::getenv("MLADMIN_BENCH_CACHE_MIB"); v != nullptr) {
      store_options.writer_cache_mib = static_cast<std::size_t>(std::atol(v));
    }
    // MLADMIN_BENCH_OWNER_RECENT_ROWS: the owner index's bound of recent rows (StoreOptions).
    if (const char* v = std::getenv("MLADMIN_BENCH_OWNER_RECENT_ROWS"); v != nullptr) {
      store_options.owner_recent_rows = static_cast<std::size_t>(std::atol(v));
    }
    // MLADMIN_BENCH_OWNER_RECENT_MAX_ROWS: the rows past which a write merges (StoreOptions).
    if (const char* v = std::getenv("MLADMIN_BENCH_OWNER_RECENT_MAX_ROWS"); v != nullptr) {
      store_options.owner_recent_max_rows = static_cast<std::size_t>(std::atol(v));
    }
    // MLADMIN_BENCH_WAL_RESTART_MIB: the writer's own WAL checkpoints this many MiB apart (0: off;
    // docs/performance.md), for a before/after comparison; MLADMIN_BENCH_WAL_RESTART_WAIT_MS: how
    // long such a checkpoint waits for readers; unset: the store's defaults.
    std::unique_ptr<store::Store> store;
    const char* restart_mib = std::getenv("MLADMIN_BENCH_WAL_RESTART_MIB");
    const char* restart_wait = std::getenv("MLADMIN_BENCH_WAL_RESTART_WAIT_MS");
    const char* checkpoint_ms = std::getenv("MLADMIN_BENCH_CHECKPOINT_MS");
    const char* checkpoint_nudge = std::getenv("MLADMIN_BENCH_CHECKPOINT_NUDGE");
    if (restart_mib != nullptr || restart_wait != nullptr || checkpoint_ms != nullptr ||
        checkpoint_nudge != nullptr) {
      store::sqlite::CheckpointOptions checkpoints;
      if (checkpoint_ms != nullptr) {
        checkpoints.interval = std::chrono::milliseconds(std::atol(checkpoint_ms));
      }
      if (checkpoint_nudge != nullptr) {
        checkpoints.nudge_frames = std::atoll(checkpoint_nudge);
      }
      if (restart_mib != nullptr) {
        checkpoints.restart_bytes = std::atoll(restart_mib) << 20;
      }
      if (restart_wait != nullptr) {
        checkpoints.restart_wait = std::chrono::milliseconds(std::atol(restart_wait));
      }
      store = std::make_unique<store::sqlite::SqliteStore>((dir / "bench.db").string(), 2, checkpoints,
                                                           store_options);
    } else {
      store = store::open_store(url, 2, store_options);
    }
    store->migrate();
    domain::SystemClock clock;
    domain::UuidV7Generator ids(clock);

    const auto seed_start = Clock::now();
    bench::seed_journal_entries(*store, clock, ids, n, users);
    const double seed_s = std::chrono::duration<double>(Clock::now() - seed_start).count();
    std::printf("seeded %ld journal entries in %.2f s (%.0f rows/s)\n", n, seed_s, n / seed_s);
    if (const char* v = std::getenv("MLADMIN_BENCH_WARM_MIB"); v != nullptr && std::atol(v) > 0) {
      const std::size_t bytes = static_cast<std::size_t>(std::atol(v)) << 20;
      const auto warm_start = Clock::now();
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        ::madvise(p, bytes, MADV_NOHUGEPAGE);
        for (std::size_t i = 0; i < bytes; i += 4096) {
          static_cast<volatile char*>(p)[i] = 1;
        }
        ::munmap(p, bytes);
      }
      const double warm_s = std::chrono::duration<double>(Clock::now() - warm_start).count();
      std::printf("touched and gave back %ld MiB of fresh memory in %.2f s (%.2f us per 4 KiB page)\n",
                  std::atol(v), warm_s, 1e6 * warm_s / static_cast<double>(bytes / 4096));
    }

    sync::EngineOptions options;
    options.workers = static_cast<std::size_t>(workers);
    if (const char* v = std::getenv("MLADMIN_BENCH_BATCH_ITEMS"); v != nullptr) {
      options.batch_items = static_cast<std::size_t>(std::atol(v));
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_BATCH_MS"); v != nullptr) {
      options.batch_time = std::chrono::milliseconds(std::atol(v));
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_COMMIT_GROUP"); v != nullptr) {
      options.commit_group = static_cast<std::size_t>(std::atol(v));
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_COMMIT_SHARE"); v != nullptr) {
      options.commit_share = static_cast<std::size_t>(std::atol(v));
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_PREPARERS"); v != nullptr) {
      const long preparers = std::atol(v);
      options.preparers = preparers > 0 ? static_cast<std::size_t>(preparers) : SIZE_MAX;
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_SINK_WINDOW"); v != nullptr) {
      options.sink_window = static_cast<std::size_t>(std::max(1L, std::atol(v)));
    }
    if (const char* v = std::getenv("MLADMIN_BENCH_SQL"); v != nullptr) {
      sqlite3* db = nullptr;
      sqlite3_open((dir / "bench.db").c_str(), &db);
      sqlite3_busy_timeout(db, 5000);
      char* err = nullptr;
      if (sqlite3_exec(db, v, nullptr, nullptr, &err) != SQLITE_OK) {
        std::printf("MLADMIN_BENCH_SQL: %s\n", err);
      }
      sqlite3_close(db);
    }
    std::unique_ptr<sink::HttpSink> ml_sink;
    if (const char* ml_url = std::getenv("MLADMIN_BENCH_ML_URL"); ml_url != nullptr && *ml_url != '\0') {
      sink::MlServiceConfig ml;
      ml.url = ml_url;
      const char* token = std::getenv("MLADMIN_BENCH_ML_TOKEN");
      ml.token = token != nullptr ? token : "";
      // MLADMIN_BENCH_ML_BATCH_ITEMS, MLADMIN_BENCH_ML_MAX_IN_FLIGHT: [ml_service] batch_items and
      // max_in_flight; unset: their defaults.
      if (const char* v = std::getenv("MLADMIN_BENCH_ML_BATCH_ITEMS"); v != nullptr) {
        ml.batch_items = static_cast<std::size_t>(std::max(1L, std::atol(v)));
      }
      if (const char* v = std::getenv("MLADMIN_BENCH_ML_MAX_IN_FLIGHT"); v != nullptr) {
        ml.max_in_flight = static_cast<std::size_t>(std::max(1L, std::atol(v)));
      }
      ml_sink = std::make_unique<sink::HttpSink>(ml);
      std::printf("sending to the ML service at %s (batch_items %zu, max_in_flight %zu)\n", ml_url,
                  ml.batch_items, ml.max_in_flight);
    }
    sync::Engine engine(*store, clock, ids, options, ml_sink.get());
    std::atomic<long long> commits{0};  // one event per committed transaction of a job
    // When each job's completion was reported (its `completed` event, the job view): once the search
    // index has taken its documents, a pass of the indexer after the last commit, whose row already
    // says `completed` and which ends the polling below (docs/jobs.md, "A job ends once...").
    std::mutex ended_m;
    std::condition_variable ended_cv;
    std::map<std::string, Clock::time_point> ended;
    engine.set_listener([&](const domain::Job& job, bool) {
      commits.fetch_add(1, std::memory_order_relaxed);
      if (domain::is_finished(job.status)) {
        std::lock_guard lock(ended_m);
        ended.emplace(job.id, Clock::now());
        ended_cv.notify_all();
      }
    });
    engine.start();
    auto* sqlite_store = dynamic_cast<store::sqlite::SqliteStore*>(store.get());
    const auto wal_before =
        sqlite_store != nullptr ? sqlite_store->wal_stats() : store::sqlite::SqliteStore::WalStats{};
    const auto owner_merges_before = sqlite_store != nullptr ? sqlite_store->owner_merges() : 0;
    // Each thread's CPU at the start, and its latest reading while the sync runs (a job's preparer
    // ends with it, so the last sample stands for it).
    const auto threads_before = thread_cpu();
    auto threads_latest = threads_before;
    const auto sample_threads = [&threads_latest] {
      for (auto& [tid, t] : thread_cpu()) {
        threads_latest[tid] = t;
      }
    };
    const auto sync_start = Clock::now();
    const auto cpu_start = process_cpu();
    const auto io_start = process_io_calls();
    std::vector<domain::Job> started;
    for (long j = 0; j < jobs; ++j) {
      sync::StartRequest req;
      req.scope = per_user ? domain::JobScope::user : domain::JobScope::all;
      if (per_user) {
        req.scope_user_id = "user-" + std::to_string(j);
      }
      req.mode = domain::SyncMode::full;
      req.started_by = "bench";
      started.push_back(engine.start_sync(req));
    }
    std::vector<domain::Job> finished;
    const auto wal_path = dir / "bench.db-wal";
    std::uintmax_t largest_wal = 0;
    for (const auto& job : started) {
      for (;;) {
        std::error_code ec;
        if (const auto size = std::filesystem::file_size(wal_path, ec); !ec) {
          largest_wal = std::max(largest_wal, size);
        }
        auto current = *store->read_value([&](store::Reader& r) { return r.find_job(job.id); });
        sample_threads();
        if (domain::is_finished(current.status)) {
          finished.push_back(current);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a benchmark's sampling interval
      }
    }
    const double sync_s = std::chrono::duration<double>(Clock::now() - sync_start).count();
    // Every document searchable: the last job's completion reported (bounded: the store waits for
    // the index at most 5 s before it reports a job completed all the same).
    double searchable_s = -1;
    {
      std::unique_lock lock(ended_m);
      if (ended_cv.wait_for(lock, std::chrono::seconds(30), [&] { return ended.size() >= started.size(); })) {
        for (const auto& [id, at] : ended) {
          searchable_s = std::max(searchable_s, std::chrono::duration<double>(at - sync_start).count());
        }
      }
    }
    sample_threads();             // the CPU figures below count the indexer's last pass too
    for (auto& job : finished) {  // the end and the running time, stamped again when searchable
      job = *store->read_value([&](store::Reader& r) { return r.find_job(job.id); });
    }
    // The sync's time: until the last job's completion was reported (every document searchable, as
    // the product counts a job's end: docs/jobs.md), or until the last commit if that never came.
    const double wall_s = searchable_s >= 0 ? searchable_s : sync_s;
    const auto owner_merges_during =
        sqlite_store != nullptr ? sqlite_store->owner_merges() - owner_merges_before : 0;
    const auto owner_recent_after = sqlite_store != nullptr ? sqlite_store->owner_recent_rows() : -1;
    const auto cpu_end = process_cpu();
    const auto io_end = process_io_calls();
    engine.stop();
    const auto docs = store->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); });
    long long items = 0;
    std::int64_t running_ms = 0;
    for (const auto& current : finished) {
      std::printf("%s sync%s: status %s, %lld synced, %lld skipped, %lld failed, %.2f s running\n",
                  per_user ? "user" : "all", per_user ? (" of " + *current.scope_user_id).c_str() : "",
                  std::string(domain::to_string(current.status)).c_str(),
                  static_cast<long long>(current.counters.synced),
                  static_cast<long long>(current.counters.skipped),
                  static_cast<long long>(current.counters.failed), current.running_ms / 1000.0);
      items += current.counters.processed();
      running_ms = std::max(running_ms, current.running_ms);
    }
    std::printf("%lld documents in the store\n", static_cast<long long>(docs));
    std::printf(
        "full sync of %lld items (%ld job%s, %ld worker%s): %.2f s wall (%.0f items/s); engine running time "
        "%.2f s (%.0f items/s)\n",
        items, jobs, jobs == 1 ? "" : "s", workers, workers == 1 ? "" : "s", wall_s, items / wall_s,
        running_ms / 1000.0, items * 1000.0 / std::max<std::int64_t>(1, running_ms));
    // The moment the last job's row said `completed` (its last commit, seen within 20 ms); its
    // documents are searchable, and its completion reported, a pass of the search indexer later.
    if (searchable_s >= 0) {
      std::printf(
          "the last commit %.2f s after the start (%.0f items/s to the last commit); every document "
          "searchable %.2f s after it, when the job's completion was reported\n",
          sync_s, items / sync_s, std::max(0.0, searchable_s - sync_s));
    } else {
      std::printf(
          "the job's completion was not reported within 30 s of its last commit: the time above ends "
          "at its last commit\n");
    }
    std::printf(
        "CPU of this process during the sync: %.2f s user, %.2f s system (%.1f us per item), until every "
        "document was searchable\n",
        cpu_end.first - cpu_start.first, cpu_end.second - cpu_start.second,
        (cpu_end.first - cpu_start.first + cpu_end.second - cpu_start.second) * 1e6 /
            static_cast<double>(std::max<long long>(1, items)));
    {
      // By thread name: the CPU each kind of thread spent during the sync, per item.
      std::map<std::string, double> by_name;
      for (const auto& [tid, t] : threads_latest) {
        const auto before = threads_before.find(tid);
        by_name[t.name] += t.seconds - (before == threads_before.end() ? 0.0 : before->second.seconds);
      }
      std::string line;
      for (const auto& [name, seconds] : by_name) {
        if (seconds >= 0.005) {
          char part[96];
          std::snprintf(part, sizeof part, "%s%s %.1f", line.empty() ? "" : ", ", name.c_str(),
                        seconds * 1e6 / static_cast<double>(std::max<long long>(1, items)));
          line += part;
        }
      }
      std::printf("CPU per item by thread (us, sampled every 20 ms): %s\n", line.c_str());
    }
    std::printf("%lld commits of the jobs (%.0f items per commit)\n", commits.load(),
                static_cast<double>(items) / static_cast<double>(std::max(1LL, commits.load())));
    const auto stats = engine.commit_stats();
    std::printf(
        "%llu write transactions committed the jobs' slices (%.0f items per transaction; %llu shared by "
        "several jobs, %llu slices, %llu failed shared)\n",
        static_cast<unsigned long long>(stats.transactions),
        static_cast<double>(items) / static_cast<double>(std::max<std::uint64_t>(1, stats.transactions)),
        static_cast<unsigned long long>(stats.shared), static_cast<unsigned long long>(stats.slices),
        static_cast<unsigned long long>(stats.fallbacks));
    std::printf("CPU of the threads in those transactions: %.2f s (%.1f us per item)\n",
                std::chrono::duration<double>(stats.cpu).count(),
                std::chrono::duration<double, std::micro>(stats.cpu).count() /
                    static_cast<double>(std::max<long long>(1, items)));
    std::printf(
        "wall time of those transactions: %.2f s of the sync's %.2f s (the writer idle %.2f s between "
        "them); of it, %.2f s ready to run but waiting for a core\n",
        std::chrono::duration<double>(stats.wall).count(), wall_s,
        wall_s - std::chrono::duration<double>(stats.wall).count(),
        std::chrono::duration<double>(stats.run_wait).count());
    std::printf("at most %zu preparers read and shaped slices at once\n", stats.most_preparing);
    std::printf(
        "read and write system calls during the sync: %.2f and %.2f per item\n",
        static_cast<double>(io_end.first - io_start.first) / static_cast<double>(std::max(1LL, items)),
        static_cast<double>(io_end.second - io_start.second) / static_cast<double>(std::max(1LL, items)));
    if (sqlite_store != nullptr) {
      const auto wal = sqlite_store->wal_stats();
      const double written = static_cast<double>(wal.frames_written - wal_before.frames_written) *
                             static_cast<double>(wal.frame_bytes);
      std::printf("WAL written by the sync's commits: %.1f MiB (%.2f KiB per item)\n", written / (1 << 20),
                  written / 1024 / static_cast<double>(std::max(1LL, items)));
      std::printf(
          "WAL: largest %.1f MiB during the sync (sampled every 20 ms); during the sync %llu checkpoints by "
          "the writer (%.2f s in all), %llu restarts from its first frame; since the start (seeding "
          "included) %llu checkpoints by the writer (%.2f s, longest %.1f ms)\n",
          static_cast<double>(largest_wal) / (1 << 20),
          static_cast<unsigned long long>(wal.writer_checkpoints - wal_before.writer_checkpoints),
          std::chrono::duration<double>(wal.writer_checkpoint_time - wal_before.writer_checkpoint_time)
              .count(),
          static_cast<unsigned long long>(wal.restarts - wal_before.restarts),
          static_cast<unsigned long long>(wal.writer_checkpoints),
          std::chrono::duration<double>(wal.writer_checkpoint_time).count(),
          std::chrono::duration<double, std::milli>(wal.longest_writer_checkpoint).count());
    }
    // The index's segments when the job completed: merged once the indexer is idle.
    std::printf("full-text index: %lld segments when the job completed\n",
                index_segments((dir / "bench.db").string()));
    // The owner index (migration 0015): merged once the writes pause (StoreOptions).
    std::printf(
        "owner index: %lld rows in owner_recent when the job completed, %llu merges during the sync\n",
        static_cast<long long>(owner_recent_after), static_cast<unsigned long long>(owner_merges_during));
  }
  if (std::getenv("MLADMIN_BENCH_KEEP") == nullptr) {
    std::filesystem::remove_all(dir);
  } else {
    std::printf("kept %s\n", dir.c_str());
  }
  return 0;
}
