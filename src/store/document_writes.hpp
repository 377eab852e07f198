#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "domain/source.hpp"
#include "store/store.hpp"

namespace mladmin::store {

/// The document writes of one transaction, gathered and then applied together: the one builder
/// of document writes that a sync's commit (sync/engine.cpp) and a bulk action (sync/bulk.cpp)
/// share. Applying runs, for each source type, one Writer::delete_documents and one
/// Writer::upsert_documents (each of which brings the full-text index up to date for all its
/// documents at once), so a batch costs a few statements whatever its size. Deletes go first: a
/// source record both removed and written in one batch ends written.
class DocumentWrites final {
 public:
  /// Writes `doc`: a new document, or the next version of the one of its source record.
  void upsert(DocumentWrite doc);
  /// The same without a copy: `doc` is read where it is, so it must stay alive and unchanged
  /// until apply (a sync's commit points at its slices' documents: copying or moving thousands
  /// of them into one growing vector per commit cost the writer's thread about a tenth of its
  /// time, docs/benchmarks.md, "SQLite's memory statistics, and a commit's documents in place").
  void upsert_in_place(const DocumentWrite& doc);
  /// Removes the document of this source record (nothing when there is none).
  void remove(domain::SourceType type, std::string source_id);

  bool empty() const { return size_ == 0; }
  /// Upserts and removes gathered since the last apply.
  std::size_t size() const { return size_; }

  /// Applies everything gathered in `w`'s transaction and empties the builder.
  void apply(Writer& w);

 private:
  struct OfType {
    std::vector<std::string> deletes;
    std::vector<const DocumentWrite*> upserts;  // into owned_, or the caller's (upsert_in_place)
  };
  std::map<domain::SourceType, OfType> by_type_;
  std::deque<DocumentWrite> owned_;  // upsert's copies: a deque, so that pointers stay valid
  std::size_t size_ = 0;
};

}  // namespace mladmin::store
