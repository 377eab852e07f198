#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/job.hpp"
#include "domain/source.hpp"
#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

namespace mladmin::store::sqlite {

// The SQL of the stats report and of the counters it reads (migration 0009). Free functions over
// the connection of the transaction the store opened; the store's Ops forwards to them.

/// Documents added (positive) or removed (negative) per owner, for one source type.
using DocumentCountDeltas = std::map<std::string, std::int64_t>;

/// The documents of `ids_json` (a JSON array of source ids of `type`) that exist, counted per
/// owner and multiplied by `sign`: -1 gives the deltas of deleting them.
DocumentCountDeltas existing_documents_by_owner(Connection& c, domain::SourceType type,
                                                const std::string& ids_json, std::int64_t sign);

/// Applies the deltas to document_counts, one statement per owner; rows that reach 0 go.
void apply_document_counts(Connection& c, domain::SourceType type, const DocumentCountDeltas& deltas);

/// Adds item errors to job_error_counts, grouped by (hour of `at`, failure kind) in memory first.
void count_item_errors(Connection& c, const std::vector<domain::ItemError>& errors);

/// Retention: removes the error counts of the hours that ended before `before`.
void prune_item_error_counts(Connection& c, domain::TimestampMs before);

/// The whole report; see Reader::read_stats.
StatsReport read_stats(Connection& c, const StatsQuery& query);

}  // namespace mladmin::store::sqlite
