#include "support/documents.hpp"

#include <algorithm>
#include <vector>

#include "domain/document_filter.hpp"
#include "store/store.hpp"
#include "support/seed.hpp"

namespace mladmin::test {

void seed_documents(const std::string& database_url, const std::string& user_id, std::size_t count,
                    const std::string& prefix, const std::string& word, domain::SourceType type,
                    const std::string& source_prefix) {
  constexpr std::size_t kChunk = 5000;
  const std::string sources = source_prefix.empty() ? "src-" + prefix : source_prefix;
  for (std::size_t start = 0; start < count; start += kChunk) {
    std::vector<store::DocumentWrite> docs;
    for (std::size_t i = start; i < std::min(count, start + kChunk); ++i) {
      const auto n = std::to_string(i);
      docs.push_back(store::DocumentWrite{prefix + n, user_id, type, sources + n, "Title " + prefix + n,
                                          "Some seeded text about " + word + " number " + n, "{}",
                                          "hash-" + n, 1767225600000, "seed-job", 1767225600000});
    }
    seed(database_url, [&](store::Writer& w) { w.upsert_documents(type, docs); });
  }
}

std::int64_t count_text_matches(const std::string& database_url, const std::string& q) {
  domain::DocumentFilterSpec spec;
  spec.q = q;
  const auto filter = domain::compile_filter(spec);
  auto store = store::open_store(database_url, 1);
  return store->read_value([&](store::Reader& r) { return r.count_matching_documents(filter); });
}

}  // namespace mladmin::test
