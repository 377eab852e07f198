// The one builder of document writes (store/document_writes.hpp) on a real SQLite file: what a
// sync's commit and a bulk action apply, and the full-text index they keep.
#include "store/document_writes.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::store::sqlite {
namespace {

class DocumentWritesTest : public TempStoreTest {
 protected:
  static DocumentWrite doc(const std::string& source_id, domain::SourceType type, const std::string& text) {
    return document(source_id, type, text);
  }

  void apply(DocumentWrites& writes) {
    store_->write([&](Writer& w) { writes.apply(w); });
  }

  std::int64_t count() {
    return store_->read_value([](Reader& r) { return r.count_documents(std::nullopt); });
  }
};

using domain::SourceType;

TEST_F(DocumentWritesTest, WritesOfBothSourceTypesLandTogetherAndAreFoundByTheirText) {
  DocumentWrites writes;
  writes.upsert(doc("e1", SourceType::journal_entries, "walked by the river"));
  writes.upsert(doc("g1", SourceType::goals, "run a river marathon"));
  writes.upsert(doc("e2", SourceType::journal_entries, "quiet evening"));
  EXPECT_EQ(writes.size(), 3u);
  apply(writes);
  EXPECT_TRUE(writes.empty()) << "applied writes are not applied twice";
  EXPECT_EQ(count(), 3);
  EXPECT_EQ(matching("river"), (std::set<std::string>{"e1", "g1"}));
}

TEST_F(DocumentWritesTest, ANewVersionReplacesTheTextInTheIndexAndARemoveTakesItOut) {
  DocumentWrites writes;
  writes.upsert(doc("e1", SourceType::journal_entries, "walked by the river"));
  writes.upsert(doc("e2", SourceType::journal_entries, "river again"));
  apply(writes);
  writes.upsert(doc("e1", SourceType::journal_entries, "stayed home"));
  writes.remove(SourceType::journal_entries, "e2");
  writes.remove(SourceType::goals, "never-written");  // nothing to remove: no error
  apply(writes);
  EXPECT_EQ(count(), 1);
  EXPECT_TRUE(matching("river").empty()) << "neither the old text nor the removed document is found";
  EXPECT_EQ(matching("home"), (std::set<std::string>{"e1"}));
  const auto e1 = store_->read_value([](Reader& r) { return r.find_document("doc-e1"); });
  ASSERT_TRUE(e1.has_value());
  EXPECT_EQ(e1->version, 2);
}

TEST_F(DocumentWritesTest, ARecordRemovedAndWrittenInOneBatchEndsWritten) {
  DocumentWrites writes;
  writes.upsert(doc("e1", SourceType::journal_entries, "first"));
  apply(writes);
  writes.upsert(doc("e1", SourceType::journal_entries, "second"));
  writes.remove(SourceType::journal_entries, "e1");
  apply(writes);
  EXPECT_EQ(matching("second"), (std::set<std::string>{"e1"}));
}

// One apply may hold several writes of one record (a group of slices commits together): a
// record that had a document and one that had none, each written twice. Each ends with its last
// text, in the documents and in the index (neither older text is found), the one that was there
// counts two new versions, and the stats count each document once.
TEST_F(DocumentWritesTest, SeveralWritesOfOneRecordInOneApplyEndWithTheLast) {
  DocumentWrites writes;
  writes.upsert(doc("e1", SourceType::journal_entries, "walked by the river"));
  apply(writes);
  writes.upsert(doc("e1", SourceType::journal_entries, "stayed home"));
  writes.upsert(doc("e2", SourceType::journal_entries, "first draft"));
  writes.upsert(doc("e1", SourceType::journal_entries, "went to the mountains"));
  writes.upsert(doc("e2", SourceType::journal_entries, "final words"));
  apply(writes);
  EXPECT_EQ(count(), 2);
  EXPECT_TRUE(matching("river").empty());
  EXPECT_TRUE(matching("home").empty());
  EXPECT_TRUE(matching("draft").empty());
  EXPECT_EQ(matching("mountains"), (std::set<std::string>{"e1"}));
  EXPECT_EQ(matching("words"), (std::set<std::string>{"e2"}));
  const auto e1 = store_->read_value([](Reader& r) { return r.find_document("doc-e1"); });
  ASSERT_TRUE(e1.has_value());
  EXPECT_EQ(e1->text, "went to the mountains");
  EXPECT_EQ(e1->version, 3);
  const auto e2 = store_->read_value([](Reader& r) { return r.find_document("doc-e2"); });
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(e2->text, "final words");
  EXPECT_EQ(e2->version, 2);
  const auto stats = store_->read_value([](Reader& r) { return r.read_stats(StatsQuery{}); });
  EXPECT_EQ(stats.documents.journal_entries, 2);
  ASSERT_EQ(stats.top_users.size(), 1u);
  EXPECT_EQ(stats.top_users[0].documents.journal_entries, 2);
}

// A sync's commit writes its pages to the WAL ahead of the COMMIT (Writer::flush_pages) so that
// the job's updatedAt, stamped after, is the commit's time. The flush writes them (the WAL
// grows inside the transaction), and they are not committed: a reader does not see them, and a
// transaction that fails after the flush leaves nothing.
TEST_F(DocumentWritesTest, PagesFlushedBeforeTheCommitAreNeitherSeenNorKeptWhenItFails) {
  const auto wal = dir_ / "t.db-wal";
  const auto wal_size = [&] {
    std::error_code ec;
    const auto size = std::filesystem::file_size(wal, ec);
    return ec ? std::uintmax_t{0} : size;
  };
  std::int64_t seen_inside = -1;
  std::uintmax_t before_flush = 0;
  std::uintmax_t after_flush = 0;
  EXPECT_THROW(store_->write([&](Writer& w) {
    DocumentWrites writes;
    for (int i = 0; i < 4000; ++i) {  // ~4 MB: more than the WAL the migrations left
      writes.upsert(doc("e" + std::to_string(i), SourceType::journal_entries, std::string(1000, 'x')));
    }
    writes.apply(w);
    before_flush = wal_size();
    w.flush_pages();
    after_flush = wal_size();
    seen_inside = count();  // another connection, during the transaction
    throw std::runtime_error("the commit fails after the flush");
  }),
               std::runtime_error);
  EXPECT_GT(after_flush, before_flush + 2'000'000) << "the transaction's pages were written by the flush";
  EXPECT_EQ(seen_inside, 0);
  EXPECT_EQ(count(), 0);
  DocumentWrites writes;
  writes.upsert(doc("e1", SourceType::journal_entries, "kept"));
  store_->write([&](Writer& w) {
    writes.apply(w);
    w.flush_pages();
  });
  EXPECT_EQ(count(), 1);
  EXPECT_EQ(matching("kept"), (std::set<std::string>{"e1"}));
}

}  // namespace
}  // namespace mladmin::store::sqlite
