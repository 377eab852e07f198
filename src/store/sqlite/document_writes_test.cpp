// The one builder of document writes (store/document_writes.hpp) on a real SQLite file: what a
// sync's commit and a bulk action apply, and the full-text index they keep.
#include "store/document_writes.hpp"

#include <gtest/gtest.h>

#include <set>
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

}  // namespace
}  // namespace mladmin::store::sqlite
