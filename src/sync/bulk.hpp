#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/clock.hpp"
#include "domain/document_filter.hpp"
#include "domain/ids.hpp"
#include "domain/job.hpp"
#include "store/store.hpp"
#include "sync/bulk_action.hpp"
#include "sync/step.hpp"

// Bulk actions on synced documents (issue 4, docs/openapi.yaml POST /api/ml/documents/bulk): delete them,
// or re-sync them from their source records. The same per-document code serves a small action
// answered at once and each batch of a bulk job.
namespace mladmin::sync {

/// What a bulk action acts on: the documents matching a filter (as the client wrote it), or
/// those of a list of document ids (deduplicated, in request order).
struct BulkTarget {
  std::optional<domain::DocumentFilterSpec> filter;
  std::vector<std::string> ids;
};

enum class BulkItemStatus {
  deleted,    ///< the document was removed (a delete, or a re-sync of a record that is gone)
  resynced,   ///< the document was written again from its source record
  not_found,  ///< no such document (any more)
  failed,     ///< the source record is invalid now: the document is kept
};
std::string_view to_string(BulkItemStatus status);

struct BulkItemResult {
  std::string document_id;
  BulkItemStatus status = BulkItemStatus::deleted;
  std::string reason;  ///< why it failed, or why a re-sync removed the document
};

/// Applies `action` to `docs` in `w`'s transaction, in their order, and answers one result per
/// document. A re-sync reads the source record again and always writes it (version + 1, synced
/// now, `job_id`; an empty `job_id` writes null); a record deleted or missing removes the
/// document; a record that a sync would refuse (domain::sync_problem) fails the item and keeps
/// the document. The writes go through store::DocumentWrites, the builder a sync's commit uses.
std::vector<BulkItemResult> apply_bulk(store::Writer& w, BulkAction action,
                                       const std::vector<store::Document>& docs, const std::string& job_id,
                                       const domain::Clock& clock, domain::IdGenerator& ids);

/// The stored target of a bulk job: its filter, or the number of its ids.
domain::BulkParams bulk_params(const BulkTarget& target, std::size_t id_count);

/// The step of a bulk job (the Engine runs it). A job given by a filter takes, batch by batch,
/// the documents matching it with seq after its checkpoint and up to its target_seq (the snapshot
/// fixed at creation): each batch's search runs before the write lock (JobStep::prepare) and stops
/// after `search_deadline` (0: none), failing the job with `query_timeout`; the write transaction
/// acts only on those of the candidates that still match then. One given by ids takes its stored
/// targets after its checkpoint. Documents gone by the time a batch reaches them are skipped.
/// Throws std::runtime_error when the job has no stored target (the job then fails).
std::unique_ptr<JobStep> make_bulk_step(const domain::Job& job, const domain::Clock& clock,
                                        domain::IdGenerator& ids, std::chrono::microseconds search_deadline);

}  // namespace mladmin::sync
