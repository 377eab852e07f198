#include "store/document_writes.hpp"

#include <utility>

namespace mladmin::store {

void DocumentWrites::upsert(DocumentWrite doc) {
  upsert_in_place(owned_.emplace_back(std::move(doc)));
}

void DocumentWrites::upsert_in_place(const DocumentWrite& doc) {
  by_type_[doc.source_type].upserts.push_back(&doc);
  ++size_;
}

void DocumentWrites::remove(domain::SourceType type, std::string source_id) {
  by_type_[type].deletes.push_back(std::move(source_id));
  ++size_;
}

void DocumentWrites::apply(Writer& w) {
  for (const auto& [type, writes] : by_type_) {
    if (!writes.deletes.empty()) {
      w.delete_documents(type, writes.deletes);
    }
    if (!writes.upserts.empty()) {
      w.write_documents(type, writes.upserts);
    }
  }
  by_type_.clear();
  owned_.clear();
  size_ = 0;
}

}  // namespace mladmin::store
