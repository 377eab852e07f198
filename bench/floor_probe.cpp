// The floor under a full sync: CPU per item of each stage a sync must run, on one thread, with
// real SQLite and the store's own schema (docs/benchmarks.md, "The limit of a full sync on this
// machine"). Seeds N journal entries of ~450 bytes (bench/seed_journal.hpp, as sync_bench), then:
//   a  the change scan: the engine's SELECT over journal_entries by change_seq, 1,000 rows a slice,
//      read into records;
//   b  the preparer's work: the document_hashes lookup, validation, shaping, the BLAKE2b hash and
//      the document's UUIDv7 (sync/shape.hpp, as Engine's preparer); a and b of one slice read in
//      one read transaction, as the engine's Store::read (before 2026-12-05 each statement was a
//      transaction of its own, which took a lock of the WAL's read mark per lookup);
//   c  the document rows with their indexes (the owner index's two levels written as the store
//      writes them) and the per-owner document_counts, WITHOUT FTS5,
//      4,000 per transaction by default (MLADMIN_PROBE_COMMIT; the engine's grouped commit, up
//      to 16 slices of 1,000 since 2026-12-04);
//   d  FTS5 indexing alone of the same rows (INSERT INTO documents_fts … SELECT, CHUNK rows a
//      transaction) into the same file;
//   D  the same into a second file (a contentless FTS5 table, the documents read through ATTACH);
//   e  c and d in one transaction per 4,000 documents, into a fresh file, as the engine commits;
//   m  the rows alone in a table with no index (the least any design that stores them writes).
// Each stage's CPU is this thread's (getrusage RUSAGE_THREAD); each file's WAL is checkpointed
// as the stage goes (PASSIVE, as the store's checkpointer) and once at its end (TRUNCATE),
// and those checkpoints are timed apart. Prints µs per item over the whole
// stage, over its first and over its last tenth of N (the cost as the store grows).
// Usage: build/release/bench/floor_probe [N=100000] [stages=cdDe] [users=1000]
// Env: MLADMIN_PROBE_FTS_CHUNK (rows per FTS5 transaction in d and D, default 20000),
//      MLADMIN_PROBE_CACHE_MIB (page cache of the writing connections, default 64 as the store),
//      MLADMIN_PROBE_CHECKPOINT_EVERY (a PASSIVE checkpoint after every this many commits of c and e,
//      default 2, and after every chunk of d and D; 0: only one at the end of each stage),
//      MLADMIN_PROBE_SEED_FILE (a copy of the seeded file: made there when missing, used instead of
//      seeding when present; for repeated runs with the same N and users),
//      MLADMIN_PROBE_COMMIT (documents per transaction in c, e and m, default 4000; the engine
//      commits up to 16 slices of 1,000 when its writer is behind),
//      MLADMIN_PROBE_SQL (SQL run on each writing connection once its tables exist, for knobs such
//      as PRAGMA mmap_size or FTS5's pgsz/automerge/crisismerge).
#include <sodium.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "domain/source.hpp"
#include "seed_journal.hpp"
#include "store/sqlite/connection.hpp"
#include "store/store.hpp"
#include "store/store_options.hpp"
#include "sync/shape.hpp"

using namespace mladmin;
using store::sqlite::Connection;

namespace {

constexpr long kSlice = 1000;  // the engine's batch_items

double thread_cpu_s(bool system) {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  const auto& t = system ? u.ru_stime : u.ru_utime;
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

/// CPU of one stage, kept per chunk so that its first and last tenth (of the chunks, in the order
/// run: the store smallest and largest) can be told apart.
struct Stage {
  std::string name;
  double user = 0;
  double sys = 0;
  long items = 0;
  std::vector<std::pair<double, long>> chunks;  // CPU seconds and items of each timed chunk

  struct Timer {
    Stage& s;
    long count;
    double u0 = thread_cpu_s(false);
    double s0 = thread_cpu_s(true);
    ~Timer() {
      const double du = thread_cpu_s(false) - u0;
      const double ds = thread_cpu_s(true) - s0;
      s.user += du;
      s.sys += ds;
      s.items += count;
      s.chunks.emplace_back(du + ds, count);
    }
  };
  Timer time(long count) { return Timer{*this, count}; }

  void print() const {
    auto per = [](double cpu, long items) {
      return items > 0 ? cpu * 1e6 / static_cast<double>(items) : 0.0;
    };
    const std::size_t tenth = (chunks.size() + 9) / 10;
    double first_cpu = 0;
    double last_cpu = 0;
    long first_items = 0;
    long last_items = 0;
    for (std::size_t i = 0; i < tenth && i < chunks.size(); ++i) {
      first_cpu += chunks[i].first;
      first_items += chunks[i].second;
      last_cpu += chunks[chunks.size() - 1 - i].first;
      last_items += chunks[chunks.size() - 1 - i].second;
    }
    std::printf("| %s | %ld | %.2f | %.2f | %.2f | %.2f | %.2f |\n", name.c_str(), items, user, sys,
                per(user + sys, items), per(first_cpu, first_items), per(last_cpu, last_items));
    std::fflush(stdout);
  }
};

long long bytes_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto s = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<long long>(s);
}

void setup_writer(Connection& c) {
  // As the store's writer (SqliteStore's constructor): no automatic checkpoint, a 64 MiB cache.
  c.exec("PRAGMA wal_autocheckpoint=0");
  const char* mib = std::getenv("MLADMIN_PROBE_CACHE_MIB");
  c.exec("PRAGMA cache_size=-" + std::to_string((mib != nullptr ? std::atol(mib) : 64L) * 1024));
}

void run_knobs(Connection& c) {
  if (const char* sql = std::getenv("MLADMIN_PROBE_SQL"); sql != nullptr && *sql != '\0') {
    char* err = nullptr;
    if (sqlite3_exec(c.handle(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::printf("MLADMIN_PROBE_SQL: %s\n", err);
      sqlite3_free(err);
    }
  }
}

/// The store's checkpointer in the probe's own thread: a PASSIVE checkpoint after every `every`
/// commits (the checkpointer's 250 ms is 2 to 4 commits of 4,000 at the rates measured), timed as a
/// stage of its own. Without it the WAL grows to gigabytes and every page read searches its
/// whole index (docs/benchmarks.md).
struct Checkpoints {
  Connection& c;
  Stage stage;
  long every;
  long commits = 0;
  long pending = 0;  // items committed since the last checkpoint
  void committed(long items) {
    pending += items;
    if (every > 0 && ++commits % every == 0) {
      auto t = stage.time(pending);
      c.exec("PRAGMA wal_checkpoint(PASSIVE)");
      pending = 0;
    }
  }
  void print() {
    if (pending > 0) {
      stage.items += pending;
      stage.chunks.emplace_back(0.0, pending);
    }
    stage.print();
  }
};

long checkpoint_every(long fallback) {
  const char* v = std::getenv("MLADMIN_PROBE_CHECKPOINT_EVERY");
  return v != nullptr ? std::atol(v) : fallback;
}

/// One checkpoint of the whole WAL, timed as its own stage.
void checkpoint(Connection& c, const std::filesystem::path& db, const std::string& name, long n) {
  const long long wal = bytes_of(db.string() + "-wal");
  Stage s{name};
  {
    auto t = s.time(n);
    c.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  s.print();
  std::printf("|   (WAL before it %.1f MiB, database after it %.1f MiB) | | | | | | |\n", wal / 1048576.0,
              bytes_of(db) / 1048576.0);
}

std::vector<std::string> tags_from_json(const std::string& text) {  // as the store reads them
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

/// The engine's change scan (SqliteStore's journal_changes, scope all).
std::vector<domain::JournalEntry> scan(Connection& c, std::int64_t after, std::int64_t upto, long limit) {
  auto st = c.prepare(
      "SELECT id, user_id, title, body, mood, tags, created_at, updated_at, deleted_at, change_seq FROM "
      "journal_entries WHERE change_seq > ?1 AND change_seq <= ?2 ORDER BY change_seq LIMIT ?3");
  st.bind(1, after).bind(2, upto).bind(3, static_cast<std::int64_t>(limit));
  std::vector<domain::JournalEntry> out;
  out.reserve(static_cast<std::size_t>(limit));
  while (st.step()) {
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
    out.push_back(std::move(e));
  }
  return out;
}

struct Doc {
  std::string id, user_id, source_id, title, text, metadata, hash, job_id;
  std::int64_t synced_at = 0;
  std::int64_t source_created_at = 0;
};

/// The preparer's work on one slice (Engine's Pipeline::take for a full sync): one hash lookup per
/// record, validation, shaping, hashing, the document's id. `lookup` false skips the lookup (for
/// stage e, where the documents of this slice are in another file).
std::vector<Doc> prepare(Connection& c, const std::vector<domain::JournalEntry>& records, bool lookup,
                         const domain::Clock& clock, domain::IdGenerator& ids) {
  std::unordered_map<std::string, std::string> hashes;
  if (lookup) {
    auto st = c.prepare("SELECT content_hash FROM documents WHERE source_type = ? AND source_id = ?");
    for (const auto& r : records) {
      st.bind(1, std::string_view("journal_entries")).bind(2, std::string_view(r.id));
      if (st.step()) {
        hashes.emplace(r.id, st.text(0));
      }
      st.reset();
    }
  }
  const auto now = clock.now_ms();
  std::vector<Doc> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    if (r.deleted_at || domain::sync_problem(r)) {
      continue;  // none in the seed
    }
    auto shaped = sync::shape(r);
    auto hash = shaped.hash();
    if (auto it = hashes.find(r.id); it != hashes.end() && it->second == hash) {
      continue;
    }
    out.push_back(Doc{ids.next(), r.user_id, r.id, std::move(shaped.title), std::move(shaped.text),
                      std::move(shaped.metadata), std::move(hash), "probe-job", now, r.created_at});
  }
  return out;
}

/// The document rows and document_counts of one commit (SqliteStore's upsert_documents without its
/// FTS5 statement). Returns the first and last rowid written.
std::pair<std::int64_t, std::int64_t> write_documents(Connection& c, const std::vector<Doc>& docs) {
  auto st = c.prepare(
      "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, content_hash, "
      "synced_at, version, job_id, source_created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
      "ON CONFLICT (source_type, source_id) DO UPDATE SET user_id = excluded.user_id, title = "
      "excluded.title, "
      "text = excluded.text, metadata = excluded.metadata, content_hash = excluded.content_hash, "
      "synced_at = excluded.synced_at, version = documents.version + 1, job_id = excluded.job_id, "
      "source_created_at = excluded.source_created_at");
  // The owner index's newer level (migration 0015): every document written goes to owner_recent,
  // merged into owner_documents at the store's bound (StoreOptions::owner_recent_rows).
  auto recent = c.prepare("INSERT INTO owner_recent (doc, user_id, synced_at) VALUES (?1, ?2, ?3)");
  std::map<std::string, std::int64_t> added;
  std::int64_t first = 0;
  std::int64_t last = 0;
  for (const auto& d : docs) {
    st.bind_static(1, d.id)
        .bind_static(2, d.user_id)
        .bind(3, std::string_view("journal_entries"))
        .bind_static(4, d.source_id)
        .bind_static(5, d.title)
        .bind_static(6, d.text)
        .bind_static(7, d.metadata)
        .bind_static(8, d.hash)
        .bind(9, d.synced_at)
        .bind_static(10, d.job_id)
        .bind(11, d.source_created_at);
    st.exec();
    st.reset();
    last = sqlite3_last_insert_rowid(c.handle());
    first = first == 0 ? last : first;
    recent.bind(1, last).bind_static(2, d.user_id).bind(3, d.synced_at);
    recent.exec();
    recent.reset();
    ++added[d.user_id];
  }
  auto count = c.prepare("SELECT count(*) FROM owner_recent");
  count.step();
  const auto recent_rows = count.int64(0);
  count.reset();
  if (recent_rows >= static_cast<std::int64_t>(store::StoreOptions{}.owner_recent_rows)) {
    c.exec(
        "INSERT INTO owner_documents (user_id, synced_at, doc) SELECT user_id, synced_at, doc "
        "FROM owner_recent ORDER BY user_id, synced_at, doc; DELETE FROM owner_recent");
  }
  auto add = c.prepare(
      "INSERT INTO document_counts (user_id, source_type, count) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id, source_type) DO UPDATE SET count = count + excluded.count");
  for (const auto& [user, count] : added) {
    add.bind(1, std::string_view(user)).bind(2, std::string_view("journal_entries")).bind(3, count);
    add.exec();
    add.reset();
  }
  return {first, last};
}

void index_rows(Connection& c, const std::string& table, std::int64_t first, std::int64_t last) {
  auto st = c.prepare("INSERT INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM " +
                      table + " WHERE rowid BETWEEN ?1 AND ?2");
  st.bind(1, first).bind(2, last);
  st.exec();
}

void fresh_schema(const std::filesystem::path& db) {
  auto s = store::open_store("sqlite://" + db.string(), 1, store::StoreOptions{});
  s->migrate();
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  const std::string stages = argc > 2 ? argv[2] : "cdDe";
  const long users = argc > 3 ? std::atol(argv[3]) : 1000L;
  const char* chunk_env = std::getenv("MLADMIN_PROBE_FTS_CHUNK");
  const long chunk = chunk_env != nullptr ? std::atol(chunk_env) : 20000L;
  // 4 slices per commit by default: the engine's commit_group when this was first measured (16
  // since, MLADMIN_PROBE_COMMIT=16000).
  const char* commit_env = std::getenv("MLADMIN_PROBE_COMMIT");
  const long commit =
      commit_env != nullptr && std::atol(commit_env) >= kSlice ? std::atol(commit_env) : 4000L;
  if (sodium_init() < 0) {
    return 1;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("mladmin-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto a = dir / "a.db";
  domain::SystemClock clock;
  domain::UuidV7Generator ids(clock);
  const char* seed_file = std::getenv("MLADMIN_PROBE_SEED_FILE");
  if (seed_file != nullptr && std::filesystem::exists(seed_file)) {
    std::filesystem::copy_file(seed_file, a);  // seeded by an earlier run with the same N and users
  } else {
    {
      auto s = store::open_store("sqlite://" + a.string(), 1, store::StoreOptions{});
      s->migrate();
      bench::seed_journal_entries(*s, clock, ids, n, users);
    }
    {
      Connection seeded(a.string());
      seeded.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    if (seed_file != nullptr) {
      std::filesystem::copy_file(a, seed_file);
    }
  }
  std::printf("seeded %ld journal entries (%.1f MiB); stages %s; FTS5 chunk %ld rows\n", n,
              bytes_of(a) / 1048576.0, stages.c_str(), chunk);
  std::printf("| stage | items | user s | system s | CPU µs/item | first tenth | last tenth |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");

  const bool has_c = stages.find('c') != std::string::npos;
  if (has_c) {
    Connection reader(a.string());
    Connection writer(a.string());
    setup_writer(writer);
    run_knobs(writer);
    Checkpoints cp{writer, Stage{"c: its PASSIVE checkpoints"}, checkpoint_every(2)};
    Stage sa{"a: change scan"};
    Stage sb{"b: prepare (lookup, shape, hash, id)"};
    Stage sc{"c: documents + indexes + counts, no FTS5"};
    std::int64_t position = 0;
    long done = 0;
    while (done < n) {
      std::vector<Doc> docs;
      for (int i = 0; i < commit / kSlice && done + static_cast<long>(docs.size()) < n; ++i) {
        // One read transaction per slice, as the engine's preparer reads (Store::read): its
        // statements share one snapshot and one lock of the WAL's read mark.
        std::vector<domain::JournalEntry> records;
        {
          auto t = sa.time(0);
          reader.exec("BEGIN");
          records = scan(reader, position, n, kSlice);
          t.count = static_cast<long>(records.size());
        }
        if (records.empty()) {
          reader.exec("COMMIT");
          break;
        }
        position = records.back().change_seq;
        auto t = sb.time(static_cast<long>(records.size()));
        auto slice = prepare(reader, records, true, clock, ids);
        reader.exec("COMMIT");
        for (auto& d : slice) {
          docs.push_back(std::move(d));
        }
      }
      if (docs.empty()) {
        break;
      }
      {
        auto t = sc.time(static_cast<long>(docs.size()));
        writer.exec("BEGIN IMMEDIATE");
        write_documents(writer, docs);
        writer.exec("COMMIT");
      }
      cp.committed(static_cast<long>(docs.size()));
      done += static_cast<long>(docs.size());
    }
    sa.print();
    sb.print();
    sc.print();
    cp.print();
    checkpoint(writer, a, "final checkpoint of c's WAL", n);
  }

  if (has_c && stages.find('d') != std::string::npos) {
    Connection writer(a.string());
    setup_writer(writer);
    run_knobs(writer);
    Checkpoints cp{writer, Stage{"d: its PASSIVE checkpoints"}, checkpoint_every(2) > 0 ? 1 : 0};
    Stage sd{"d: FTS5 alone, same file"};
    for (std::int64_t first = 1; first <= n; first += chunk) {
      const std::int64_t last = std::min<std::int64_t>(n, first + chunk - 1);
      {
        auto t = sd.time(last - first + 1);
        writer.exec("BEGIN IMMEDIATE");
        index_rows(writer, "documents", first, last);
        writer.exec("COMMIT");
      }
      cp.committed(last - first + 1);
    }
    sd.print();
    cp.print();
    checkpoint(writer, a, "final checkpoint of d's WAL", n);
  }

  if (has_c && stages.find('D') != std::string::npos) {
    const auto b = dir / "fts.db";
    Connection writer(b.string());
    setup_writer(writer);
    writer.exec("CREATE VIRTUAL TABLE documents_fts USING fts5(title, text, content='')");
    writer.exec("ATTACH DATABASE '" + a.string() + "' AS src");
    run_knobs(writer);
    Checkpoints cp{writer, Stage{"D: its PASSIVE checkpoints"}, checkpoint_every(2) > 0 ? 1 : 0};
    Stage sd{"D: FTS5 alone, second file (contentless)"};
    for (std::int64_t first = 1; first <= n; first += chunk) {
      const std::int64_t last = std::min<std::int64_t>(n, first + chunk - 1);
      {
        auto t = sd.time(last - first + 1);
        writer.exec("BEGIN IMMEDIATE");
        index_rows(writer, "src.documents", first, last);
        writer.exec("COMMIT");
      }
      cp.committed(last - first + 1);
    }
    sd.print();
    cp.print();
    checkpoint(writer, b, "final checkpoint of D's WAL", n);
  }

  if (stages.find('e') != std::string::npos) {
    const auto c = dir / "e.db";
    fresh_schema(c);
    Connection reader(a.string());
    Connection writer(c.string());
    setup_writer(writer);
    run_knobs(writer);
    Checkpoints cp{writer, Stage{"e: its PASSIVE checkpoints"}, checkpoint_every(2)};
    Stage se{"e: documents + counts + FTS5, one transaction"};
    std::int64_t position = 0;
    long done = 0;
    while (done < n) {
      auto records = scan(reader, position, n, commit);
      if (records.empty()) {
        break;
      }
      position = records.back().change_seq;
      auto docs = prepare(reader, records, false, clock, ids);
      {
        auto t = se.time(static_cast<long>(docs.size()));
        writer.exec("BEGIN IMMEDIATE");
        auto [first, last] = write_documents(writer, docs);
        index_rows(writer, "documents", first, last);
        writer.exec("COMMIT");
      }
      cp.committed(static_cast<long>(docs.size()));
      done += static_cast<long>(records.size());
    }
    se.print();
    cp.print();
    checkpoint(writer, c, "final checkpoint of e's WAL", n);
  }
  if (stages.find('m') != std::string::npos) {
    // The least a store of these documents can write: the same rows in a table with no index and
    // no counts (only the rowid b-tree), `commit` per transaction, in a fresh file.
    const auto m = dir / "m.db";
    Connection reader(a.string());
    Connection writer(m.string());
    setup_writer(writer);
    writer.exec(
        "CREATE TABLE documents (id TEXT NOT NULL, user_id TEXT NOT NULL, source_type TEXT NOT NULL, "
        "source_id "
        "TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL, content_hash TEXT "
        "NOT "
        "NULL, synced_at INTEGER NOT NULL, version INTEGER NOT NULL, job_id TEXT, source_created_at INTEGER "
        "NOT "
        "NULL) STRICT");
    run_knobs(writer);
    Checkpoints cp{writer, Stage{"m: its PASSIVE checkpoints"}, checkpoint_every(2)};
    Stage sm{"m: the rows alone (no index, no counts, no FTS5)"};
    std::int64_t position = 0;
    long done = 0;
    while (done < n) {
      auto records = scan(reader, position, n, commit);
      if (records.empty()) {
        break;
      }
      position = records.back().change_seq;
      auto docs = prepare(reader, records, false, clock, ids);
      {
        auto t = sm.time(static_cast<long>(docs.size()));
        writer.exec("BEGIN IMMEDIATE");
        auto st = writer.prepare(
            "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, "
            "content_hash, "
            "synced_at, version, job_id, source_created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)");
        for (const auto& d : docs) {
          st.bind_static(1, d.id)
              .bind_static(2, d.user_id)
              .bind(3, std::string_view("journal_entries"))
              .bind_static(4, d.source_id)
              .bind_static(5, d.title)
              .bind_static(6, d.text)
              .bind_static(7, d.metadata)
              .bind_static(8, d.hash)
              .bind(9, d.synced_at)
              .bind_static(10, d.job_id)
              .bind(11, d.source_created_at);
          st.exec();
          st.reset();
        }
        writer.exec("COMMIT");
      }
      cp.committed(static_cast<long>(docs.size()));
      done += static_cast<long>(records.size());
    }
    sm.print();
    cp.print();
    checkpoint(writer, m, "final checkpoint of m's WAL", n);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
