#pragma once

#include <optional>
#include <string_view>

#include "domain/job.hpp"

// The two bulk actions and their names (docs/openapi.yaml POST /api/ml/documents/bulk), apart
// from sync/bulk.hpp so that the job's JSON (api/job_json.cpp) names a bulk job's action without
// including the store. Defined in sync/bulk.cpp.
namespace mladmin::sync {

enum class BulkAction { remove, resync };

/// "delete" or "resync": the API's spelling.
std::string_view to_string(BulkAction action);
std::optional<BulkAction> parse_bulk_action(std::string_view text);
/// bulk_delete or bulk_resync.
domain::JobType job_type_of(BulkAction action);
/// The action of a bulk job's type (bulk_delete: remove; bulk_resync: resync).
BulkAction action_of(domain::JobType type);

}  // namespace mladmin::sync
