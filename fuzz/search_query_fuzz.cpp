// libFuzzer target: the search query language (docs/fuzzing.md). Any input parses into an FTS5
// expression, or is blank (neither), or yields a problem whose position lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domain/document_filter.hpp"
#include "domain/error.hpp"
#include "domain/search_query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = mladmin::domain::SearchQuery::parse(text);
  if (parsed.query && parsed.problem) {
    std::abort();  // at most one of the two
  }
  if (parsed.query && parsed.query->to_fts5().empty()) {
    std::abort();
  }
  if (parsed.problem && parsed.problem->position > text.size()) {
    std::abort();
  }
  // The same text as the `q` of a document filter (GET /api/ml/documents, bulk and export filters).
  mladmin::domain::DocumentFilterSpec spec;
  spec.q = std::string(text);
  try {
    (void)mladmin::domain::compile_filter(spec);
  } catch (const mladmin::domain::Error&) {
  }
  return 0;
}
