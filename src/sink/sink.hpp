#pragma once

#include <cstddef>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "domain/clock.hpp"
#include "domain/source.hpp"

// The sink stage of the sync pipeline: where a job's documents go besides the embedded store (an
// external ML service over HTTP, docs/ml-service-api.md). The engine shapes a batch, hands it to
// the sink, and commits the embedded store and the job's checkpoint only once the sink has
// acknowledged it; a batch in flight when the process dies is sent again after the restart, and
// the service treats a repeated (sourceType, sourceId, version) as a no-op.
namespace mladmin::sink {

/// A document the service must hold at this version.
struct Upsert {
  domain::SourceType source_type = domain::SourceType::journal_entries;
  std::string source_id;
  std::string user_id;
  std::string title;
  std::string text;
  std::string metadata_json;  ///< a JSON object, as the embedded store keeps it
  std::string version;        ///< the content hash
  domain::TimestampMs updated_at = 0;
};

/// A document the service must not hold (any more); a delete of a missing one is a success.
struct Delete {
  domain::SourceType source_type = domain::SourceType::journal_entries;
  std::string source_id;
};

struct Batch {
  std::string batch_id;  ///< unique per batch; the Idempotency-Key, the same on every retry of it
  std::string job_id;
  std::vector<Upsert> upserts;
  std::vector<Delete> deletes;
};

/// An item of an acknowledged batch that the service refused: it becomes an item error with the
/// service's reason, its document is not written to the embedded store either, and the next sync
/// offers it again (docs/sync-engine.md, "A rejected item").
struct Rejection {
  domain::SourceType source_type = domain::SourceType::journal_entries;
  std::string source_id;
  std::string reason;
};

enum class OutcomeKind {
  acknowledged,  ///< the service holds the batch (less `rejected`)
  unavailable,   ///< retryable failures until max_attempts: the job fails, its checkpoint kept
  refused,       ///< a non-retryable answer (a 4xx other than 408/429): the job fails at once
  abandoned,     ///< the caller's stop token fired first; the batch may or may not have arrived
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::acknowledged;
  std::vector<Rejection> rejected;  ///< acknowledged only
  /// For a person, e.g. "ML service unavailable: HTTP 503 after 8 attempts" or
  /// "ML service refused the batch: 400 {\"detail\": …}" (at most 200 bytes of the body).
  std::string reason;
};

/// A destination for documents. Thread-safe: several jobs send through one sink at once.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Documents per batch (the engine cuts its batches to this size).
  virtual std::size_t batch_items() const = 0;
  /// Batches one job may have in flight at once (the engine shapes the next while they travel).
  virtual std::size_t max_in_flight() const = 0;
  /// Delivers `batch`, retrying as configured, and then calls `done` exactly once, on a thread of
  /// the sink's own (never inside send). When `stop` is requested first, `done` is called with
  /// `abandoned` within 100 ms, whatever the network does. `done` must be quick and not throw.
  virtual void send(Batch batch, std::stop_token stop, std::function<void(Outcome)> done) = 0;
};

}  // namespace mladmin::sink
