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
    DocumentWrite d;
    d.id = "doc-" + source_id;
    d.user_id = "u1";
    d.source_type = type;
    d.source_id = source_id;
    d.title = "t " + source_id;
    d.text = text;
    d.metadata_json = "{}";
    d.content_hash = "h-" + text;
    d.synced_at = 1000;
    d.job_id = "job";
    return d;
  }

  void apply(DocumentWrites& writes) {
    store_->write([&](Writer& w) { writes.apply(w); });
  }

  /// The source ids of the documents whose text matches the FTS5 expression `match`.
  std::set<std::string> matching(const std::string& match) {
    domain::DocumentFilter f;
    f.match = match;
    std::set<std::string> out;
    for (const auto& d :
         store_->read_value([&](Reader& r) { return r.matching_documents_after(f, 0, 100); })) {
      out.insert(d.source_id);
    }
    return out;
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

}  // namespace
}  // namespace mladmin::store::sqlite
