#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

/// The document store's reads (search, counts, snapshots), kept apart from the rest of the SQLite
/// back end. Each runs inside the caller's transaction on `c`.
namespace mladmin::store::sqlite::documents {

DocumentPage search(Connection& c, const DocumentQuery& query);

/// The CPU time the first page of a relevance search may spend reading candidates, once it has
/// read a page and one more (docs/performance.md); 0: no limit but DocumentQuery::rank_candidates,
/// which also turns it off when 0. One value for the process, 20 ms unless changed (tests and the
/// benchmark change it).
void set_rank_budget(std::chrono::microseconds budget);
std::chrono::microseconds rank_budget();
/// Stopped after `deadline` (0: none) with a domain error `query_timeout`.
std::int64_t count_matching(Connection& c, const DocumentFilter& filter, std::chrono::microseconds deadline);
std::vector<Document> matching_after(Connection& c, const DocumentFilter& filter, std::int64_t after_seq,
                                     std::size_t limit, std::chrono::microseconds deadline);
/// Those of the documents numbered `seqs` that match `filter`, in seq order.
std::vector<Document> matching_among(Connection& c, const DocumentFilter& filter,
                                     const std::vector<std::int64_t>& seqs);
std::optional<Document> find(Connection& c, std::string_view id);
std::vector<Document> find_many(Connection& c, const std::vector<std::string>& ids);
std::int64_t max_seq(Connection& c);

/// HTML-escapes `text` and turns the markers FTS5 put around matches into <mark> elements.
std::string marked_html(std::string_view text);

}  // namespace mladmin::store::sqlite::documents
