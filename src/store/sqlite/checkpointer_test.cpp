// The background WAL checkpointer on a real SQLite file: under a read transaction that stays open
// while writers go on, nothing blocks and nothing is lost; once the reader ends the WAL file comes
// back under its bound.
#include "store/sqlite/checkpointer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "domain/testing/eventually.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::store::sqlite {
namespace {

constexpr std::int64_t kBound = 256 * 1024;

class CheckpointerTest : public TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    store_.reset();  // opened again with a checkpointer that runs often
    CheckpointOptions options;
    options.interval = std::chrono::milliseconds(5);
    options.truncate_bytes = kBound;
    options.nudge_frames = 8;
    store_ = std::make_unique<SqliteStore>(db(), 2, options);
    store_->migrate();
  }

  std::string db() const { return (dir_ / "t.db").string(); }
  /// Opens the store again with only the writer's own checkpoints (the checkpointer's passes a
  /// day apart and never nudged), `restart` bytes of WAL apart.
  void reopen_with_writer_checkpoints_only(std::int64_t restart) {
    store_.reset();
    CheckpointOptions options;
    options.interval = std::chrono::hours(24);
    options.nudge_frames = 0;
    options.truncate_bytes = std::int64_t{1} << 40;
    options.restart_bytes = restart;
    store_ = std::make_unique<SqliteStore>(db(), 2, options);
  }
  std::int64_t wal_size() const {
    std::error_code ec;
    const auto n = std::filesystem::file_size(db() + "-wal", ec);
    return ec ? 0 : static_cast<std::int64_t>(n);
  }

  /// Writes `count` documents of ~2 KiB in one transaction, numbered from `first`.
  void write_documents(int first, int count) {
    std::vector<DocumentWrite> docs;
    for (int i = first; i < first + count; ++i) {
      DocumentWrite d;
      d.id = "doc-" + std::to_string(i);
      d.user_id = "u1";
      d.source_type = domain::SourceType::journal_entries;
      d.source_id = "src-" + std::to_string(i);
      d.title = "entry " + std::to_string(i);
      d.text = std::string(2000, static_cast<char>('a' + i % 26));
      d.metadata_json = "{}";
      d.content_hash = "h" + std::to_string(i);
      d.synced_at = 1'000'000 + i;
      d.source_created_at = 1'000'000 + i;
      d.job_id = "job";
      docs.push_back(std::move(d));
    }
    store_->write([&](Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, docs); });
  }

  /// Waits, up to a deadline, until `done()` holds: the checkpointer's thread announces nothing.
  template <class Pred>
  static bool eventually(Pred done) {
    return domain::eventually(done, std::chrono::seconds(20), std::chrono::milliseconds(5));
  }
};

TEST_F(CheckpointerTest, AReaderThatStaysOpenBlocksNoWriterAndTheWalShrinksOnceItEnds) {
  write_documents(0, 10);
  // A read transaction that lasts until told to end: it reads, so it holds a snapshot.
  std::promise<void> reading;
  std::promise<void> end;
  auto end_signal = end.get_future();
  std::int64_t seen_by_reader = -1;
  std::thread reader([&] {
    store_->read([&](Reader& r) {
      seen_by_reader = r.count_matching_documents({});
      reading.set_value();
      end_signal.wait();
      // Its snapshot holds: it still sees what it saw, whatever was written meanwhile.
      EXPECT_EQ(r.count_matching_documents({}), seen_by_reader);
    });
  });
  reading.get_future().wait();
  // The checkpointer may have truncated the WAL before the reader took its snapshot (the
  // migrations alone can pass the bound, and a slow start of the reader's thread, as under
  // ThreadSanitizer, leaves it the time). Truncations are counted from the end of the first pass
  // that began after the snapshot: a pass under way at that moment counts its truncation before
  // it counts itself.
  const auto snapshot_pass = store_->checkpointer().passes();
  ASSERT_TRUE(eventually([&] { return store_->checkpointer().passes() > snapshot_pass; }));
  const auto truncations_before = store_->checkpointer().truncations();

  // Writers go on while the reader holds its snapshot; each commit returns.
  for (int batch = 1; batch <= 20; ++batch) {
    write_documents(batch * 100, 100);
  }
  const auto passes_before = store_->checkpointer().passes();
  ASSERT_TRUE(eventually([&] { return store_->checkpointer().passes() >= passes_before + 2; }));
  // The reader pins the WAL: the checkpointer cannot have reset it.
  EXPECT_GT(wal_size(), kBound);
  EXPECT_EQ(store_->checkpointer().truncations(), truncations_before);

  end.set_value();
  reader.join();
  EXPECT_EQ(seen_by_reader, 10);

  // Once the reader is gone the next passes bring the file under the bound, without a write.
  // (The count goes up just after the file is truncated, so both are waited for.)
  EXPECT_TRUE(eventually([&] {
    return wal_size() <= kBound && store_->checkpointer().truncations() > truncations_before;
  })) << wal_size()
      << " bytes of WAL";

  // Nothing was lost, through the checkpoint and a reopen.
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_matching_documents({}); }), 2010);
  store_.reset();
  SqliteStore again(db(), 1);
  EXPECT_EQ(again.read_value([](Reader& r) { return r.count_matching_documents({}); }), 2010);
}

TEST_F(CheckpointerTest, WritesAloneKeepTheWalUnderItsBound) {
  for (int batch = 0; batch < 20; ++batch) {
    write_documents(batch * 100, 100);
  }
  EXPECT_TRUE(eventually([&] { return wal_size() <= kBound; })) << wal_size() << " bytes of WAL";
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_matching_documents({}); }), 2000);
}

// A writer that never pauses: with no checkpoint between its commits SQLite appends each one to
// the WAL, and the file grows by every commit (ext4 then zeroes each new page it takes; that was a
// fifth of a large sync's CPU). The writer's own checkpoint before a transaction, once the WAL
// holds `restart_bytes`, lets the commit write from the start of the file again.
TEST_F(CheckpointerTest, TheWritersOwnCheckpointsWriteTheWalFromItsStartAgain) {
  reopen_with_writer_checkpoints_only(kBound);
  std::int64_t largest = 0;
  for (int batch = 0; batch < 100; ++batch) {
    write_documents(batch * 20, 20);
    largest = std::max(largest, wal_size());
  }
  const auto stats = store_->wal_stats();
  EXPECT_GT(stats.restarts, 5U);
  EXPECT_GE(stats.writer_checkpoints, stats.restarts);
  // The bound and the commit that passes it (about 200 KiB, up to 1.2 MiB when FTS5 merges its
  // segments): 100 commits appended would be 20 MiB.
  EXPECT_LE(largest, 8 * kBound) << stats.restarts << " restarts";
  EXPECT_EQ(store_->checkpointer().truncations(), 0U);
  // What GET /metrics reports (mladmin_store_*): the same counts, read without the writer.
  const auto activity = store_->wal_activity();
  ASSERT_TRUE(activity.has_value());
  EXPECT_EQ(activity->writer_checkpoints, stats.writer_checkpoints);
  EXPECT_EQ(activity->restarts, stats.restarts);
  const std::int64_t page = [&] {
    Connection c(db());
    auto st = c.prepare("PRAGMA page_size");
    return st.step() ? st.int64(0) : 0;
  }();
  EXPECT_EQ(page, 16384);  // what a new store's files get (connection.cpp)
  EXPECT_EQ(activity->wal_bytes, stats.frames * (page + 24));
  EXPECT_GT(activity->writer_checkpoint_seconds, 0.0);
  EXPECT_EQ(activity->truncations, 0U);

  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_matching_documents({}); }), 2000);
  store_.reset();
  SqliteStore again(db(), 1);
  EXPECT_EQ(again.read_value([](Reader& r) { return r.count_matching_documents({}); }), 2000);
}

// A sync's shape: readers keep starting short read transactions (its preparer reading slices)
// while the writer commits without a pause. The writer's checkpoint waits a little for the
// readers of older snapshots; the WAL still starts over, and every reader sees whole commits.
TEST_F(CheckpointerTest, ReadersThatKeepStartingStillLetTheWalStartOver) {
  reopen_with_writer_checkpoints_only(kBound);
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> reads{0};
  std::atomic<std::int64_t> torn{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        const auto n = store_->read_value([](Reader& r) { return r.count_matching_documents({}); });
        if (n % 20 != 0) {
          torn.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  std::int64_t largest = 0;
  for (int batch = 0; batch < 200; ++batch) {
    write_documents(batch * 20, 20);
    largest = std::max(largest, wal_size());
  }
  stop = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  const auto stats = store_->wal_stats();
  EXPECT_GT(stats.restarts, 0U);
  // Without the writer's checkpoints: 200 commits of about 200 KiB, 40 MiB.
  EXPECT_LT(largest, 40 * kBound) << stats.restarts << " restarts";
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_matching_documents({}); }), 4000);
}

}  // namespace
}  // namespace mladmin::store::sqlite
