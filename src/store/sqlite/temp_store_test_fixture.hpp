#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "store/sqlite/sqlite_store.hpp"

namespace mladmin::store::sqlite {

/// A test with a migrated SqliteStore on a file in its own temporary directory, removed after the
/// test (for the store's unit tests).
class TempStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mladmin-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "t.db").string(), 2);
    store_->migrate();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// A document of user u1 with the title "t <source_id>" (job "job", synced at 1000).
  static DocumentWrite document(const std::string& source_id, domain::SourceType type,
                                const std::string& text) {
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

  /// The source ids of the documents whose text matches the FTS5 expression `match`, as a
  /// search sees them.
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

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

}  // namespace mladmin::store::sqlite
