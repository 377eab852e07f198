#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/source.hpp"

namespace mladmin::test {

/// Writes `count` documents of `user_id` straight into the document store (through
/// Writer::upsert_documents, so the full-text index follows), in transactions of 5,000: ids
/// `prefix` + index, source ids `source_prefix` + index, text holding `word`. For tests that need
/// many documents without running a sync.
void seed_documents(const std::string& database_url, const std::string& user_id, std::size_t count,
                    const std::string& prefix, const std::string& word,
                    domain::SourceType type = domain::SourceType::journal_entries,
                    const std::string& source_prefix = "");

/// How many documents match a full-text search for `q` (the API's query syntax), through the store.
std::int64_t count_text_matches(const std::string& database_url, const std::string& q);

}  // namespace mladmin::test
