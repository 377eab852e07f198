// The full-text index in a file of its own (store/sqlite/search_indexer.hpp), on real SQLite files:
// what a write can search once it returns, what the indexer takes up after a crash or from another
// process, an index file lost or older than the database, and an upgrade from schema 12.
#include "store/sqlite/search_indexer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "store/document_writes.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"
#include "util/embedded.hpp"

namespace mladmin::store::sqlite_migrations {
std::span<const EmbeddedFile> files();
}  // namespace mladmin::store::sqlite_migrations

namespace mladmin::store::sqlite {
namespace {

using domain::SourceType;
using namespace std::chrono_literals;

/// Runs SQL on the file directly, as another process (the sqlite3 shell) would.
void run_sql(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "") << " in " << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

std::int64_t number(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t out = -1;
  if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    out = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class SearchIndexerTest : public TempStoreTest {
 protected:
  std::filesystem::path db() const { return dir_ / "t.db"; }
  std::filesystem::path index_file() const { return search_index_path(db().string()); }

  /// `defer`: write() returns at the commit, without waiting for the index (as a job's commits).
  void write_docs(const std::vector<DocumentWrite>& docs, bool defer = false) {
    store_->write([&](Writer& w) {
      if (defer) {
        w.defer_search_index();
      }
      w.upsert_documents(SourceType::journal_entries, docs);
    });
  }

  static DocumentWrite doc(const std::string& source_id, const std::string& text) {
    return document(source_id, SourceType::journal_entries, text);
  }

  std::int64_t last_change() { return number(db(), "SELECT COALESCE(max(seq), 0) FROM sqlite_sequence"); }

  /// Waits (at most 10 s) for the indexer to take every change recorded so far.
  bool indexed() {
    const auto seq = last_change();
    store_->search_indexer().nudge();
    return store_->search_indexer().wait_for(seq, std::chrono::steady_clock::now() + 10s);
  }

  /// Starts over with a database file as a server of schema `version` left it (its migrations
  /// only), holding the document e1 ("an old heron"), then runs `more` on it.
  void database_of_schema(int version, const std::string& more) {
    store_.reset();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string after = (version < 9 ? "000" : "00") + std::to_string(version + 1);
    std::string schema;
    for (const auto& file : sqlite_migrations::files()) {
      if (file.name < std::string_view(after)) {
        schema += file.data;
      }
    }
    run_sql(
        db(),
        "PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at "
        "INTEGER);" +
            schema + "WITH RECURSIVE v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v WHERE n < " +
            std::to_string(version) +
            ") INSERT INTO schema_migrations SELECT n, 0 FROM v;"
            "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, "
            "content_hash, "
            "synced_at) VALUES ('doc-e1', 'u1', 'journal_entries', 'e1', 't', 'an old heron', '{}', 'h', "
            "1);" +
            more);
  }

  void reopen() {
    store_.reset();
    store_ = std::make_unique<SqliteStore>(db().string(), 2);
    store_->migrate();
  }
};

TEST_F(SearchIndexerTest, TheIndexIsAFileOfItsOwnThatOnlyItsOwnerCanRead) {
  write_docs({doc("e1", "walked by the river")});
  EXPECT_EQ(number(db(), "SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts'"), 0)
      << "the database keeps no full-text index of its own";
  EXPECT_EQ(number(index_file(), "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'river'"), 1);
  struct stat st {};
  ASSERT_EQ(::stat(index_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600) << "it holds the documents' words, as the database does";
}

TEST_F(SearchIndexerTest, WhatAWriteAddsChangesAndRemovesIsSearchableWhenItReturns) {
  write_docs({doc("e1", "walked by the river"), doc("e2", "river again"), doc("e3", "quiet")});
  EXPECT_EQ(matching("river"), (std::set<std::string>{"e1", "e2"}));
  write_docs({doc("e1", "stayed home")});
  store_->write([](Writer& w) { w.delete_documents(SourceType::journal_entries, {"e2"}); });
  EXPECT_TRUE(matching("river").empty()) << "neither the old text nor the removed document is found";
  EXPECT_EQ(matching("home"), (std::set<std::string>{"e1"}));
  EXPECT_EQ(matching("quiet"), (std::set<std::string>{"e3"}));
}

TEST_F(SearchIndexerTest, AWriteThatDoesNotWaitIsSearchableOnceTheIndexerTakesIt) {
  write_docs({doc("e1", "a heron on the bank")}, true);
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("heron"), (std::set<std::string>{"e1"}));
  // FTS5's own check of the index's structure.
  run_sql(index_file(), "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')");
}

// The index keeps the words, not a second copy of the texts (contentless): the database holds them.
TEST_F(SearchIndexerTest, TheIndexKeepsNoCopyOfTheTexts) {
  write_docs({doc("e1", "a heron on the bank")});
  EXPECT_EQ(number(index_file(), "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'heron'"), 1);
  EXPECT_EQ(number(index_file(), "SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts_content'"),
            0);
  EXPECT_EQ(number(index_file(), "SELECT count(*) FROM documents_fts WHERE text IS NOT NULL"), 0);
}

// Removing a document from a contentless index takes the words it was indexed with. Changes that
// one pass takes together (the indexer held up meanwhile): a document changed twice, one added
// and deleted, one deleted whose rowid a new document takes, one whose metadata alone changed.
// Each must leave the index exactly as the documents are, which FTS5's integrity check and the
// searches both see (a removal with other words than the indexed ones would leave stale words).
TEST_F(SearchIndexerTest, ManyChangesTakenInOnePassLeaveTheIndexAsTheDocumentsAre) {
  write_docs({doc("e1", "a heron"), doc("e3", "a swan"), doc("e4", "an otter")});
  const auto before = last_change();
  {
    // The index file's write lock, as another writer of it would hold it: no pass can run.
    sqlite3* lock = nullptr;
    ASSERT_EQ(sqlite3_open(index_file().c_str(), &lock), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    write_docs({doc("e1", "a kingfisher")}, true);
    write_docs({doc("e1", "a kingfisher and a grebe")}, true);
    write_docs({doc("e2", "a cormorant")}, true);
    store_->write([](Writer& w) {
      w.defer_search_index();
      w.delete_documents(SourceType::journal_entries, {"e2", "e4"});
    });
    write_docs({doc("e5", "a moorhen")}, true);  // takes e4's rowid (e3's is now the largest)
    auto metadata = doc("e3", "a swan");
    metadata.metadata_json = R"({"mood":"calm"})";
    write_docs({metadata}, true);
    EXPECT_EQ(store_->search_indexer().indexed_through(), before) << "a pass ran while the lock was held";
    EXPECT_EQ(sqlite3_exec(lock, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(lock);
  }
  ASSERT_TRUE(indexed());
  run_sql(index_file(), "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')");
  EXPECT_TRUE(matching("heron").empty());
  EXPECT_EQ(matching("kingfisher"), (std::set<std::string>{"e1"}));
  EXPECT_EQ(matching("grebe"), (std::set<std::string>{"e1"}));
  EXPECT_TRUE(matching("cormorant").empty());
  EXPECT_TRUE(matching("otter").empty());
  EXPECT_EQ(matching("moorhen"), (std::set<std::string>{"e5"}));
  EXPECT_EQ(matching("swan"), (std::set<std::string>{"e3"}));
  EXPECT_EQ(matching("a"), (std::set<std::string>{"e1", "e3", "e5"}));
  // Each indexed document once, with its current length (what ranking reads).
  EXPECT_EQ(number(index_file(), "SELECT count(*) FROM documents_fts_docsize"), 3);
}

// A change of a document's metadata alone gives the indexer nothing to do.
TEST_F(SearchIndexerTest, AChangeOfTheMetadataAloneRecordsNothingForTheIndex) {
  write_docs({doc("e1", "a heron")});
  const auto before = last_change();
  auto metadata = doc("e1", "a heron");
  metadata.metadata_json = R"({"mood":"calm"})";
  write_docs({metadata});
  EXPECT_EQ(last_change(), before);
  write_docs({doc("e1", "a grey heron")});
  EXPECT_EQ(last_change(), before + 1);
}

// The documents' writer holds the database's write lock, not the index file's: the indexer
// indexes the changes committed before, while a write transaction is open.
TEST_F(SearchIndexerTest, AnOpenWriteTransactionDoesNotHoldTheIndexerUp) {
  write_docs({doc("e1", "first heron")}, true);
  const auto seq = last_change();
  bool indexed_meanwhile = false;
  store_->write([&](Writer& w) {
    w.upsert_documents(SourceType::journal_entries, {doc("e2", "second heron")});
    store_->search_indexer().nudge();
    indexed_meanwhile = store_->search_indexer().wait_for(seq, std::chrono::steady_clock::now() + 10s);
  });
  EXPECT_TRUE(indexed_meanwhile);
  EXPECT_EQ(matching("heron"), (std::set<std::string>{"e1", "e2"}));
}

// Changes committed by a process that stopped before its indexer took them (a crash between the
// two commits, or the sqlite3 shell) stay recorded, and the next indexer takes them.
TEST_F(SearchIndexerTest, ChangesCommittedWithoutAnIndexerAreIndexedLater) {
  write_docs({doc("e1", "first")});
  store_.reset();
  run_sql(db(),
          "BEGIN;"
          "INSERT INTO documents (id, user_id, source_type, source_id, title, text, metadata, content_hash, "
          "synced_at) VALUES ('doc-e9', 'u1', 'journal_entries', 'e9', 't', 'a kingfisher', '{}', 'h', 1);"
          "INSERT INTO search_index_changes (inserted, removed) VALUES ("
          "(SELECT json_array(rowid) FROM documents WHERE source_id = 'e9'),"
          "(SELECT json_array(json_array(rowid, title, text)) FROM documents WHERE source_id = 'e1'));"
          "UPDATE documents SET text = 'changed by hand' WHERE source_id = 'e1';"
          "COMMIT;");
  reopen();
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("kingfisher"), (std::set<std::string>{"e9"}));
  EXPECT_EQ(matching("hand"), (std::set<std::string>{"e1"}));
  EXPECT_TRUE(matching("first").empty());
}

TEST_F(SearchIndexerTest, ALostIndexFileIsBuiltAgainFromTheDocuments) {
  write_docs({doc("e1", "walked by the river"), doc("e2", "river again")});
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(index_file().string() + suffix);
  }
  reopen();
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("river"), (std::set<std::string>{"e1", "e2"}));
}

// An index file restored from an older copy misses changes the database no longer records (they
// were deleted once indexed): the indexer sees the gap and builds the index again.
TEST_F(SearchIndexerTest, AnIndexFileOlderThanTheRecordedChangesIsBuiltAgain) {
  write_docs({doc("e1", "one heron")});
  store_.reset();
  const auto old_copy = dir_ / "old-index";
  run_sql(index_file(), "VACUUM INTO '" + old_copy.string() + "'");
  reopen();
  write_docs({doc("e2", "two herons")});
  write_docs({doc("e3", "three heron")});  // its write deletes the changes indexed before it
  EXPECT_GT(number(db(), "SELECT min(seq) FROM search_index_changes"), 2) << "nothing was deleted";
  store_.reset();
  for (const char* suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(index_file().string() + suffix);
  }
  std::filesystem::copy_file(old_copy, index_file(), std::filesystem::copy_options::overwrite_existing);
  reopen();
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("heron OR herons"), (std::set<std::string>{"e1", "e2", "e3"}));
}

// A database of schema 12 kept its index in the database file: migration 0013 drops it, and the
// indexer builds the new file from the documents.
TEST_F(SearchIndexerTest, AnUpgradedDatabaseGetsItsIndexBuiltFromItsDocuments) {
  database_of_schema(
      12, "INSERT INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM documents;");
  ASSERT_EQ(number(db(), "SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts'"), 1);
  reopen();
  EXPECT_EQ(number(db(), "SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts'"), 0);
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("heron"), (std::set<std::string>{"e1"}));
}

// A database of schema 13 beside its index file of 0013, which kept the texts (contentful):
// the store drops that table, 0014 starts the changes afresh, and the indexer builds the
// contentless index from the documents.
TEST_F(SearchIndexerTest, AContentfulIndexFileOfSchema13IsBuiltAgainContentless) {
  database_of_schema(13, "INSERT INTO search_index_changes (inserted, changed) VALUES ('[1]', '[]');");
  run_sql(index_file(),
          "PRAGMA journal_mode=WAL; CREATE TABLE index_state (id INTEGER PRIMARY KEY CHECK (id = 1), through "
          "INTEGER NOT NULL) STRICT; CREATE VIRTUAL TABLE documents_fts USING fts5(title, text);"
          "INSERT INTO documents_fts (rowid, title, text) VALUES (1, 't', 'an old heron');"
          "INSERT INTO index_state VALUES (1, 1);");
  reopen();
  ASSERT_TRUE(indexed());
  EXPECT_EQ(matching("heron"), (std::set<std::string>{"e1"}));
  EXPECT_EQ(
      number(index_file(),
             "SELECT count(*) FROM sqlite_master WHERE name = 'documents_fts' AND sql LIKE '%content=''''%'"),
      1);
  write_docs({doc("e1", "a new kingfisher")});
  EXPECT_TRUE(matching("heron").empty());
  EXPECT_EQ(matching("kingfisher"), (std::set<std::string>{"e1"}));
  run_sql(index_file(), "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')");
}

// FTS5's merge settings and hashsize are kept in the index file: a file of an older mladmin
// (automerge 8, FTS5's default hashsize of 1 MiB) merges nothing while it indexes, crisis-merges
// a level at 64 segments, idle-merges a level at 8, and gathers 16 MiB of words before it writes a
// segment once the store opens it, as a new one does.
TEST_F(SearchIndexerTest, TheIndexMergesWhenIdleOnlyAndGathers16MiBNewOrOld) {
  const auto config = [&](const std::string& key) {
    return number(index_file(), "SELECT v FROM documents_fts_config WHERE k = '" + key + "'");
  };
  const auto expect_ours = [&] {
    EXPECT_EQ(config("automerge"), 0);
    EXPECT_EQ(config("crisismerge"), 64);
    EXPECT_EQ(config("usermerge"), 8);
    EXPECT_EQ(config("hashsize"), 16 << 20);
  };
  expect_ours();
  store_.reset();
  run_sql(index_file(), "INSERT INTO documents_fts (documents_fts, rank) VALUES ('automerge', 8)");
  run_sql(index_file(),
          "DELETE FROM documents_fts_config WHERE k IN ('hashsize', 'crisismerge', 'usermerge')");
  ASSERT_EQ(config("automerge"), 8);
  reopen();
  expect_ours();
  write_docs({doc("e1", "a heron on the bank")});
  EXPECT_EQ(matching("heron"), (std::set<std::string>{"e1"}));
}

// Each pass of the indexer writes its words as a segment of its own (FTS5 merges nothing while it
// indexes); once nothing new has come for a second, the indexer merges them, and every search
// finds what it found before. A write while merges are due is searchable when it returns.
TEST_F(SearchIndexerTest, EachPassLeavesASegmentThatIsMergedOnceTheIndexerIsIdleWithTheSameMatches) {
  const auto segments = [&] {
    return number(index_file(), "SELECT count(DISTINCT segid) FROM documents_fts_idx");
  };
  auto& indexer = store_->search_indexer();
  indexer.hold_merges(true);
  for (int i = 0; i < 12; ++i) {
    write_docs({doc("e" + std::to_string(i),
                    "heron number" + std::to_string(i) + (i % 2 == 0 ? " river" : " lake"))});
  }
  ASSERT_EQ(segments(), 12) << "one segment a pass, none merged";
  const auto herons = matching("heron");
  const auto rivers = matching("river AND heron");
  ASSERT_EQ(herons.size(), 12U);
  ASSERT_EQ(rivers.size(), 6U);

  indexer.hold_merges(false);
  write_docs({doc("e12", "a late heron by the lake")});
  EXPECT_EQ(matching("late"), (std::set<std::string>{"e12"})) << "searchable when the write returns";
  ASSERT_TRUE(indexer.wait_merged(std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(segments(), 1) << "the 13 segments of level 0 merged into one";
  EXPECT_GE(indexer.merge_steps(), 1U);
  auto all = herons;
  all.insert("e12");
  EXPECT_EQ(matching("heron"), all);
  EXPECT_EQ(matching("river AND heron"), rivers);
  EXPECT_EQ(matching("number7"), (std::set<std::string>{"e7"}));
  run_sql(index_file(), "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check')");

  // Merged once, the index is not merged again for nothing: a few more passes stay as they are.
  const auto steps = indexer.merge_steps();
  write_docs({doc("e13", "one more heron")});
  ASSERT_TRUE(indexer.wait_merged(std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(indexer.merge_steps(), steps) << "2 segments are fewer than the 8 a level merges at";
  EXPECT_EQ(segments(), 2);
}

}  // namespace
}  // namespace mladmin::store::sqlite
