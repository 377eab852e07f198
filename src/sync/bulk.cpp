#include "sync/bulk.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <unordered_map>

#include "domain/error.hpp"
#include "domain/source.hpp"
#include "store/document_writes.hpp"
#include "sync/shape.hpp"

namespace mladmin::sync {

std::string_view to_string(BulkAction action) {
  return action == BulkAction::remove ? "delete" : "resync";
}

std::optional<BulkAction> parse_bulk_action(std::string_view text) {
  if (text == "delete") {
    return BulkAction::remove;
  }
  if (text == "resync") {
    return BulkAction::resync;
  }
  return std::nullopt;
}

domain::JobType job_type_of(BulkAction action) {
  return action == BulkAction::remove ? domain::JobType::bulk_delete : domain::JobType::bulk_resync;
}

BulkAction action_of(domain::JobType type) {
  return type == domain::JobType::bulk_delete ? BulkAction::remove : BulkAction::resync;
}

std::string_view to_string(BulkItemStatus status) {
  switch (status) {
    case BulkItemStatus::deleted:
      return "deleted";
    case BulkItemStatus::resynced:
      return "resynced";
    case BulkItemStatus::not_found:
      return "not_found";
    case BulkItemStatus::failed:
      return "failed";
  }
  return "failed";
}

namespace {

template <class Record>
BulkItemResult resync_one(const store::Document& doc, const std::optional<Record>& record,
                          store::DocumentWrites& writes, const std::string& job_id,
                          const domain::Clock& clock, domain::IdGenerator& ids) {
  if (!record || record->deleted_at) {
    writes.remove(doc.source_type, doc.source_id);
    return {doc.id, BulkItemStatus::deleted, "the source record was deleted"};
  }
  if (auto problem = domain::sync_problem(*record)) {
    return {doc.id, BulkItemStatus::failed, *problem};
  }
  const auto shaped = shape(*record);
  writes.upsert(store::DocumentWrite{ids.next(), record->user_id, doc.source_type, record->id, shaped.title,
                                     shaped.text, shaped.metadata, shaped.hash(), clock.now_ms(), job_id,
                                     record->created_at, /*existed=*/true});
  return {doc.id, BulkItemStatus::resynced, ""};
}

}  // namespace

std::vector<BulkItemResult> apply_bulk(store::Writer& w, BulkAction action,
                                       const std::vector<store::Document>& docs, const std::string& job_id,
                                       const domain::Clock& clock, domain::IdGenerator& ids) {
  store::DocumentWrites writes;
  std::vector<BulkItemResult> out;
  out.reserve(docs.size());
  for (const auto& doc : docs) {
    if (action == BulkAction::remove) {
      writes.remove(doc.source_type, doc.source_id);
      out.push_back({doc.id, BulkItemStatus::deleted, ""});
    } else if (doc.source_type == domain::SourceType::journal_entries) {
      out.push_back(resync_one(doc, w.find_journal_entry(doc.source_id), writes, job_id, clock, ids));
    } else {
      out.push_back(resync_one(doc, w.find_goal(doc.source_id), writes, job_id, clock, ids));
    }
  }
  writes.apply(w);
  return out;
}

domain::BulkParams bulk_params(const BulkTarget& target, std::size_t id_count) {
  return domain::BulkParams{target.filter, target.filter ? 0 : static_cast<std::int64_t>(id_count)};
}

namespace {

/// Slices of this many documents: large enough to feed the full-text index in few statements,
/// small enough that a control request waits little.
constexpr std::size_t kSlice = 256;

class BulkStep final : public JobStep {
 public:
  BulkStep(const domain::Job& job, const domain::Clock& clock, domain::IdGenerator& ids,
           std::chrono::microseconds search_deadline)
      : clock_(clock), ids_(ids), search_deadline_(search_deadline) {
    action_ = action_of(job.type);
    if (!job.bulk) {
      throw std::runtime_error("bulk job " + job.id + " has no stored target");
    }
    if (job.bulk->filter) {
      // Checked when the job was created; compiled again the same way.
      filter_ = domain::compile_filter(*job.bulk->filter, "filter.");
      filter_->max_seq = job.target_seq;
    }
  }

  void first_start(store::Writer&, domain::Job&) override {
    // Nothing: a bulk job's snapshot, targets and total are fixed when it is created.
  }

  void prepare(store::Reader& r, const domain::Job& job, const BatchLimits& limits) override {
    if (!filter_) {
      return;  // a job given by ids reads its stored targets by number: no search
    }
    if (candidates_ && !candidates_->empty() && prepared_at_ == job.checkpoint_seq) {
      return;  // the last batch ended before it reached them all: they are taken first
    }
    candidates_.reset();
    // The filter's search, the part whose cost grows with the data, runs here, outside the write
    // lock and within [search] bulk_deadline_ms (docs/security.md); batch() then checks each
    // candidate again under the lock.
    try {
      candidates_ =
          r.matching_documents_after(*filter_, job.checkpoint_seq, limits.max_items, search_deadline_);
    } catch (const domain::Error& e) {
      if (e.code() != "query_timeout") {
        throw;
      }
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(search_deadline_).count();
      throw domain::Error(domain::ErrorKind::unavailable, "query_timeout",
                          "the search of the next documents matching the filter took longer than " +
                              std::to_string(ms) +
                              " ms ([search] bulk_deadline_ms) and was stopped before this batch changed "
                              "anything; retry the job to go on from its checkpoint, or raise the deadline");
    }
    prepared_at_ = job.checkpoint_seq;
  }

  bool batch(store::Writer& w, domain::Job& job, const BatchLimits& limits,
             std::vector<domain::ItemError>& new_errors) override {
    return filter_ ? filtered_batch(w, job, limits, new_errors) : listed_batch(w, job, limits, new_errors);
  }

  void completed(store::Writer&, domain::Job& job) override {
    // Documents that matched the filter when the job was created but were deleted, or stopped
    // matching, before a batch reached them were not processed: they count as skipped, so that a
    // completed job has processed its total.
    job.counters.skipped += std::max<std::int64_t>(0, job.counters.total - job.counters.processed());
  }

 private:
  /// A job given by a filter: the candidates prepare() found, slice by slice. Under the write lock
  /// each slice is checked against the filter again, restricted to the slice's documents (at most
  /// kSlice rowid seeks): a document a sync changed since the search so that it no longer matches
  /// is left alone, and the others are acted on as they are now.
  bool filtered_batch(store::Writer& w, domain::Job& job, const BatchLimits& limits,
                      std::vector<domain::ItemError>& new_errors) {
    if (!candidates_ || prepared_at_ != job.checkpoint_seq) {
      throw std::logic_error("a filtered bulk batch ran without its search");
    }
    auto candidates = std::move(*candidates_);
    candidates_.reset();
    if (candidates.empty()) {
      return true;
    }
    std::size_t n = 0;
    std::size_t next = 0;
    while (next < candidates.size() && !limits.reached(n)) {
      const std::size_t end = std::min(candidates.size(), next + kSlice);
      std::vector<std::int64_t> seqs;
      seqs.reserve(end - next);
      for (std::size_t i = next; i < end; ++i) {
        seqs.push_back(candidates[i].seq);
      }
      apply(w, job, w.matching_documents_among(*filter_, seqs), new_errors);
      n += seqs.size();
      next = end;
      job.checkpoint_seq = seqs.back();
      // A document that came to match the filter after the count (a sync changed its text) is
      // taken too; the total follows so that processed never passes it.
      job.counters.total = std::max(job.counters.total, job.counters.processed());
      if (limits.interrupted()) {
        break;
      }
    }
    if (next < candidates.size()) {
      // Kept for the next batch (checked again under its lock), rather than searched again.
      candidates.erase(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(next));
      candidates_ = std::move(candidates);
      prepared_at_ = job.checkpoint_seq;
    }
    return false;
  }

  /// A job given by ids: its stored targets after the checkpoint, slice by slice.
  bool listed_batch(store::Writer& w, domain::Job& job, const BatchLimits& limits,
                    std::vector<domain::ItemError>& new_errors) {
    std::size_t n = 0;
    while (!limits.reached(n)) {
      const std::size_t want = std::min(kSlice, limits.max_items - n);
      const auto targets = w.bulk_targets_after(job.id, job.checkpoint_seq, want);
      if (targets.empty()) {
        return true;
      }
      std::vector<std::string> ids;
      ids.reserve(targets.size());
      for (const auto& [seq, id] : targets) {
        ids.push_back(id);
      }
      std::unordered_map<std::string, store::Document> found;
      for (auto& d : w.find_documents(ids)) {
        found.emplace(d.id, std::move(d));
      }
      std::vector<store::Document> docs;
      for (const auto& id : ids) {
        if (auto it = found.find(id); it != found.end()) {
          docs.push_back(std::move(it->second));
        } else {
          ++job.counters.skipped;  // gone since the job was created
        }
      }
      apply(w, job, docs, new_errors);
      n += ids.size();
      job.checkpoint_seq = targets.back().first;
      job.counters.total = std::max(job.counters.total, job.counters.processed());
      if (limits.interrupted()) {
        break;
      }
    }
    return false;
  }

  void apply(store::Writer& w, domain::Job& job, const std::vector<store::Document>& docs,
             std::vector<domain::ItemError>& new_errors) {
    for (const auto& r : apply_bulk(w, action_, docs, job.id, clock_, ids_)) {
      switch (r.status) {
        case BulkItemStatus::deleted:
        case BulkItemStatus::resynced:
          ++job.counters.synced;
          break;
        case BulkItemStatus::not_found:
          ++job.counters.skipped;
          break;
        case BulkItemStatus::failed:
          record_failure(job, domain::ItemError{r.document_id, r.reason, clock_.now_ms()}, new_errors);
          break;
      }
    }
  }

  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  std::chrono::microseconds search_deadline_;
  BulkAction action_ = BulkAction::remove;
  std::optional<domain::DocumentFilter> filter_;
  /// Found by prepare() for the next batch, or left over by the last one.
  std::optional<std::vector<store::Document>> candidates_;
  std::int64_t prepared_at_ = 0;  ///< the checkpoint they come after
};

}  // namespace

std::unique_ptr<JobStep> make_bulk_step(const domain::Job& job, const domain::Clock& clock,
                                        domain::IdGenerator& ids, std::chrono::microseconds search_deadline) {
  return std::make_unique<BulkStep>(job, clock, ids, search_deadline);
}

}  // namespace mladmin::sync
