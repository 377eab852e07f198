// The background WAL checkpointer on a real SQLite file: under a read transaction that stays open
// while writers go on, nothing blocks and nothing is lost; once the reader ends the WAL file comes
// back under its bound.
#include "store/sqlite/checkpointer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "domain/testing/eventually.hpp"
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
    store_ = std::make_unique<SqliteStore>(db(), 2, options);
    store_->migrate();
  }

  std::string db() const { return (dir_ / "t.db").string(); }
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

}  // namespace
}  // namespace mladmin::store::sqlite
