#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/clock.hpp"
#include "domain/document_filter.hpp"
#include "domain/job.hpp"
#include "domain/role.hpp"
#include "domain/source.hpp"
#include "domain/stats.hpp"
#include "domain/user.hpp"

namespace mladmin::store {

enum class UserSortKey { created_at, email, name, last_login_at };

/// Keyset position after which a page starts: the last row's sort value and id.
struct UserCursor {
  std::variant<std::int64_t, std::string> value;
  std::string id;
};

struct UserQuery {
  std::string text;  ///< substring of email or name, case-insensitive; empty = all
  std::optional<domain::Role> role;
  std::optional<domain::UserStatus> status;
  std::optional<domain::TimestampMs> created_from;  ///< inclusive
  std::optional<domain::TimestampMs> created_to;    ///< exclusive
  UserSortKey sort = UserSortKey::created_at;
  bool descending = false;
  std::size_t limit = 50;  ///< rows to return; the store fetches one more to tell if there is a next page
  std::optional<UserCursor> after;
};

struct UserPage {
  std::vector<domain::User> items;
  bool has_more = false;
};

/// One row of the audit log: who did what to which object, when (docs/security.md).
struct AuditEntry {
  std::string id;
  domain::TimestampMs at = 0;
  std::optional<std::string> actor_id;  ///< null for the command line
  std::string actor_label;              ///< the actor's email, or "cli"
  std::string action;                   ///< e.g. "user.create", "user.set_role", "user.bulk"
  std::string target_type;              ///< e.g. "user"
  std::optional<std::string> target_id;
  std::string details_json = "{}";
};

struct AuditQuery {
  std::size_t limit = 50;
  std::optional<std::string> before_id;  ///< newest first; ids are time-ordered
  std::optional<std::string> target_id;
};

/// Lists source records newest first (created_at, then id), tombstones left out.
struct SourceQuery {
  std::optional<std::string> user_id;  ///< one owner's records; all owners when null
  std::size_t limit = 50;
  /// Keyset position: the last row's (created_at, id).
  std::optional<std::pair<domain::TimestampMs, std::string>> before;
};

template <class T>
struct SourcePage {
  std::vector<T> items;
  bool has_more = false;
};

/// "all|journal_entries" or "user:<id>|goals": the key of a job's scope and type. At most one
/// active job holds a key; watermarks are kept per key. A bulk job's key is its own
/// ("bulk:<job id>|bulk_delete"): it acts on a snapshot of documents fixed when it was created, so
/// it neither waits for nor holds back syncs or other bulk jobs.
inline std::string scope_key(const domain::Job& job) {
  if (domain::is_bulk(job.type)) {
    return "bulk:" + job.id + "|" + std::string(domain::to_string(job.type));
  }
  const std::string scope =
      job.scope == domain::JobScope::all ? std::string("all") : "user:" + job.scope_user_id.value_or("");
  return scope + "|" + std::string(domain::to_string(job.type));
}

struct JobQuery {
  std::optional<std::string>
      visible_to;  ///< a user: jobs of scope user over their records (domain/job_access.hpp)
  std::optional<domain::JobStatus> status;
  std::optional<domain::JobType> type;
  std::optional<std::string> user_id;       ///< jobs started by or syncing this user
  std::optional<domain::TimestampMs> from;  ///< created_at >= from
  std::optional<domain::TimestampMs> to;    ///< created_at < to
  std::size_t limit = 50;
  std::optional<std::pair<domain::TimestampMs, std::string>> before;  ///< newest first keyset
};

struct JobPage {
  std::vector<domain::Job> items;
  bool has_more = false;
};

struct StoredItemError {
  std::int64_t seq = 0;
  domain::ItemError error;
  int attempt = 1;  ///< the job's attempt that recorded it
};

/// What one call of Writer::delete_expired_jobs removed.
struct ExpiredJobsDeleted {
  std::int64_t jobs = 0;
  std::int64_t errors = 0;   ///< item errors of those (and of further expired) jobs
  std::int64_t targets = 0;  ///< bulk_targets rows of those jobs (counted in the same budget)
};

// ---- Stats (GET /api/ml/stats) ----

/// What a stats report covers: jobs that ended in [from, to), counted in buckets of `bucket`
/// aligned to UTC hours or days (the first and last bucket may reach outside the range; only what
/// happened inside it counts).
struct StatsQuery {
  domain::TimestampMs from = 0;
  domain::TimestampMs to = 0;
  domain::StatsBucket bucket = domain::StatsBucket::hour;
  std::size_t top_users = 10;  ///< length of the top-users list
};

/// A figure per source type.
struct TypeCounts {
  std::int64_t journal_entries = 0;
  std::int64_t goals = 0;
  std::int64_t total() const { return journal_entries + goals; }
};

struct UserDocumentCounts {
  std::string user_id;
  std::optional<std::string> email;  ///< null when the user was deleted (their documents stay)
  std::optional<std::string> name;
  TypeCounts documents;
};

/// Sync jobs (journal_entries, goals) that ended in one bucket, or in the whole range.
struct JobStatsRow {
  domain::TimestampMs start = 0;  ///< the bucket's start (0 for the range's totals)
  std::int64_t jobs = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
  std::int64_t synced_items = 0;
  std::int64_t skipped_items = 0;
  std::int64_t failed_items = 0;
  std::int64_t running_ms = 0;       ///< summed running time (pauses left out): the items/s denominator
  std::int64_t started = 0;          ///< jobs that had started (a job cancelled while queued has no duration)
  std::int64_t duration_ms = 0;      ///< summed end - start of those, the job's `duration`
  std::int64_t max_duration_ms = 0;  ///< the longest of those
  std::int64_t items() const { return synced_items + skipped_items + failed_items; }
};

/// How often one kind of failure happened (domain::failure_kind).
struct FailureCount {
  std::string reason;  ///< the kind: the reason with its values replaced
  std::int64_t count = 0;
  std::string example;  ///< one actual reason of that kind
};

struct StatsReport {
  TypeCounts documents;
  std::vector<UserDocumentCounts> top_users;  ///< most documents first, then by user id
  /// Source changes (tombstones included) after the all-users watermark "all|<type>": what the
  /// next incremental sync of every user would take.
  TypeCounts pending;
  JobStatsRow jobs;                         ///< the whole range
  std::vector<JobStatsRow> series;          ///< one per bucket, empty ones included, oldest first
  std::vector<FailureCount> item_failures;  ///< most frequent first, at most 20
  std::vector<FailureCount> job_failures;   ///< failed jobs' failure_reason, as above
};

/// What a sync writes for one source record.
struct DocumentWrite {
  std::string id;
  std::string user_id;
  domain::SourceType source_type = domain::SourceType::journal_entries;
  std::string source_id;
  std::string title;
  std::string text;
  std::string metadata_json;
  std::string content_hash;
  domain::TimestampMs synced_at = 0;
  std::string job_id;
  domain::TimestampMs source_created_at = 0;  ///< the source record's createdAt
  /// A hint: the record had a document when this write was prepared. The store checks either
  /// way; a right hint saves it a lookup (an insert tried first, or the old state read ahead).
  bool existed = false;
};

/// A document of the embedded store (docs/jobs.md).
struct Document {
  std::int64_t seq = 0;  ///< insertion order (stable across updates): keyset and snapshot position
  std::string id;
  std::string user_id;
  domain::SourceType source_type = domain::SourceType::journal_entries;
  std::string source_id;
  std::string title;
  std::string text;
  std::string metadata_json;
  std::string content_hash;
  domain::TimestampMs synced_at = 0;
  domain::TimestampMs source_created_at = 0;  ///< the source record's createdAt
  std::int64_t version = 1;
  std::optional<std::string> job_id;  ///< the job that last wrote it
};

using DocumentDate = domain::DocumentDate;
using DocumentFilter = domain::DocumentFilter;

enum class DocumentSort { relevance, newest, oldest };

/// Corpus figures a relevance ranking is computed with. A search pins them on its first page so
/// that later pages rank the same documents the same way while syncs add documents.
struct RankStats {
  std::int64_t rows = 0;
  std::int64_t tokens = 0;
  std::vector<std::int64_t> phrase_rows;  ///< per phrase of the expression: rows containing it
};

struct DocumentQuery {
  DocumentFilter filter;
  DocumentSort sort = DocumentSort::newest;  ///< relevance needs filter.match
  std::size_t limit = 50;
  /// Relevance: the figures to rank with (nullopt on the first page: the store measures them).
  std::optional<RankStats> stats;
  /// Keyset position after which the page starts: the last hit's sort value (the date in ms, or
  /// the score's bits for relevance) and seq.
  struct After {
    std::int64_t value = 0;
    double score = 0;
    std::int64_t seq = 0;
  };
  std::optional<After> after;
  /// Relevance ranks at most this many matches, the newest (highest seq), when there are more
  /// (docs/performance.md); 0 ranks every match.
  std::size_t rank_candidates = 20000;
  /// Relevance, later pages: the lowest seq of the candidates the first page ranked over.
  std::optional<std::int64_t> rank_floor;
  /// The search stops after this long with a domain error `query_timeout`; 0: no deadline.
  std::chrono::microseconds deadline{2'000'000};
};

struct DocumentHit {
  Document doc;            ///< text left empty in listings (the snippet stands in for it)
  double score = 0;        ///< relevance (higher is better); 0 without a text query
  std::string snippet;     ///< HTML-escaped text with <mark>…</mark> around matches
  std::string title_html;  ///< HTML-escaped title with <mark>…</mark> around matches
};

struct DocumentPage {
  std::vector<DocumentHit> items;
  bool has_more = false;
  std::optional<RankStats> stats;  ///< the figures used (relevance), for the next page's cursor
  std::int64_t max_seq = 0;        ///< the snapshot bound used (relevance), for the next page
  /// Relevance over a bounded candidate set: how many matches were ranked and the lowest seq
  /// among them (for the next page). Unset when every match was ranked.
  std::optional<std::int64_t> ranked_over;
  std::optional<std::int64_t> rank_floor;
};

/// What a read may do. Every method runs inside the transaction the Store opened.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual std::optional<domain::User> find_user(std::string_view id) = 0;
  virtual std::optional<domain::User> find_user_by_email(std::string_view normalized_email) = 0;
  virtual UserPage list_users(const UserQuery& query) = 0;
  virtual std::int64_t count_active_admins() = 0;
  virtual std::vector<AuditEntry> list_audit(const AuditQuery& query) = 0;
  virtual std::optional<std::string> get_setting(std::string_view key) = 0;

  /// A record by id, tombstone or not.
  virtual std::optional<domain::JournalEntry> find_journal_entry(std::string_view id) = 0;
  virtual SourcePage<domain::JournalEntry> list_journal_entries(const SourceQuery& query) = 0;
  virtual std::optional<domain::Goal> find_goal(std::string_view id) = 0;
  virtual SourcePage<domain::Goal> list_goals(const SourceQuery& query) = 0;

  /// The highest change_seq of a source table (0 when empty).
  virtual std::int64_t max_change_seq(domain::SourceType type) = 0;
  /// Records (tombstones included) with after < change_seq <= upto, of one owner or all.
  virtual std::int64_t count_changes(domain::SourceType type, const std::optional<std::string>& user_id,
                                     std::int64_t after, std::int64_t upto) = 0;
  /// The next `limit` of those records in change_seq order.
  virtual std::vector<domain::JournalEntry> journal_changes(const std::optional<std::string>& user_id,
                                                            std::int64_t after, std::int64_t upto,
                                                            std::size_t limit) = 0;
  virtual std::vector<domain::Goal> goal_changes(const std::optional<std::string>& user_id,
                                                 std::int64_t after, std::int64_t upto,
                                                 std::size_t limit) = 0;

  /// content_hash of the documents of these source ids that exist.
  virtual std::vector<std::pair<std::string, std::string>> document_hashes(
      domain::SourceType type, const std::vector<std::string>& ids) = 0;
  virtual std::int64_t count_documents(std::optional<domain::SourceType> type) = 0;
  /// One page of documents matching the query's filter, in its order.
  virtual DocumentPage search_documents(const DocumentQuery& query) = 0;
  /// How many documents match. The count stops after `deadline` with a domain error
  /// `query_timeout` (503); 0: no deadline. Its cost grows with the filter's matches, so every
  /// count a client asks for is given one (docs/performance.md).
  virtual std::int64_t count_matching_documents(const DocumentFilter& filter,
                                                std::chrono::microseconds deadline) = 0;
  /// The same without a deadline (internal callers and tests).
  std::int64_t count_matching_documents(const DocumentFilter& filter) {
    return count_matching_documents(filter, std::chrono::microseconds{0});
  }
  /// The next `limit` matching documents with seq > after_seq, in seq order (text left empty).
  /// Stops after `deadline` as count_matching_documents does; 0: no deadline.
  virtual std::vector<Document> matching_documents_after(const DocumentFilter& filter, std::int64_t after_seq,
                                                         std::size_t limit,
                                                         std::chrono::microseconds deadline) = 0;
  std::vector<Document> matching_documents_after(const DocumentFilter& filter, std::int64_t after_seq,
                                                 std::size_t limit) {
    return matching_documents_after(filter, after_seq, limit, std::chrono::microseconds{0});
  }
  /// Those of the documents numbered `seqs` that match the filter now, in seq order (text left
  /// empty). Its cost grows with the number of seqs, not with the filter's matches: a write
  /// transaction checks with it that documents found by an earlier search still match.
  virtual std::vector<Document> matching_documents_among(const DocumentFilter& filter,
                                                         const std::vector<std::int64_t>& seqs) = 0;
  virtual std::optional<Document> find_document(std::string_view id) = 0;
  /// The documents of these ids that exist (any order, text left empty).
  virtual std::vector<Document> find_documents(const std::vector<std::string>& ids) = 0;
  /// The highest document seq (0 when there are none): the bound of a snapshot.
  virtual std::int64_t max_document_seq() = 0;
  /// How many jobs are in each status (statuses with none are left out).
  virtual std::vector<std::pair<domain::JobStatus, std::int64_t>> count_jobs_by_status() = 0;

  virtual std::optional<domain::Job> find_job(std::string_view id) = 0;
  virtual std::optional<domain::Job> find_active_job(std::string_view scope_key) = 0;
  virtual JobPage list_jobs(const JobQuery& query) = 0;
  /// Jobs in any of these states, oldest first.
  virtual std::vector<domain::Job> jobs_in(const std::vector<domain::JobStatus>& statuses) = 0;
  /// The job's current item errors (those that still count as its failed items), in the order
  /// they were recorded: every error, except that while a retry of a completed job runs, the
  /// errors of the attempts before it are left out (they are items waiting to be processed again).
  virtual std::vector<StoredItemError> list_job_errors(std::string_view job_id, std::int64_t after_seq,
                                                       std::size_t limit) = 0;
  /// How many current item errors the job has (as listed above).
  virtual std::int64_t count_job_errors(std::string_view job_id) = 0;
  /// The first `limit` item errors a retry of the job's failed items has still to process: those
  /// recorded before its `retry_before_attempt`, in the order they were recorded.
  virtual std::vector<StoredItemError> job_errors_to_retry(std::string_view job_id, std::size_t limit) = 0;
  virtual std::int64_t get_watermark(std::string_view scope_key) = 0;

  /// The stats report (GET /api/ml/stats), read from counters and indexes: its cost grows with
  /// the users, the jobs in the range and the pending changes, not with the documents stored.
  virtual StatsReport read_stats(const StatsQuery& query) = 0;

  /// The next `limit` document ids a bulk job given by ids has to process: its targets numbered
  /// after `after_seq`, as (number, document id) in order.
  virtual std::vector<std::pair<std::int64_t, std::string>> bulk_targets_after(std::string_view job_id,
                                                                               std::int64_t after_seq,
                                                                               std::size_t limit) = 0;
};

/// What a write transaction may do in addition.
class Writer : public Reader {
 public:
  /// Returns false when the normalized email is taken (nothing is written).
  virtual bool insert_user(const domain::User& user) = 0;
  /// Replaces every mutable column of the row with `user.id`; false when it does not exist.
  virtual bool update_user(const domain::User& user) = 0;
  virtual bool delete_user(std::string_view id) = 0;
  virtual void set_last_login(std::string_view id, domain::TimestampMs at) = 0;
  virtual void insert_audit(const AuditEntry& entry) = 0;
  /// Stores `value` under `key` unless a value is there already; returns the stored value.
  virtual std::string put_setting_if_absent(std::string_view key, std::string_view value) = 0;

  /// Inserts or replaces the record with `record.id` (a tombstone is a record with deleted_at
  /// set), giving it the table's next change_seq, which is written back into `record`.
  virtual void save_journal_entry(domain::JournalEntry& record) = 0;
  virtual void save_goal(domain::Goal& record) = 0;
  /// The same for many records at once (a bulk import): they get consecutive change_seq values
  /// after the table's highest, in the order given, so that a later record with the id of an
  /// earlier one wins; the table's highest change_seq is read once for the whole batch.
  virtual void save_journal_entries(std::span<domain::JournalEntry> records) = 0;
  virtual void save_goals(std::span<domain::Goal> records) = 0;

  /// Inserts or updates (on source type + id) documents of one source type, bumping the version
  /// of those that existed, and records them all at once for the full-text index. The documents
  /// are read in place (a sync's commit points at its slices' documents rather than copying them).
  virtual void write_documents(domain::SourceType type, std::span<const DocumentWrite* const> docs) = 0;
  /// The same for documents held in a vector.
  void upsert_documents(domain::SourceType type, const std::vector<DocumentWrite>& docs);
  /// Removes the documents of these source ids (and records them for the full-text index, which
  /// drops them); returns how many there were.
  virtual std::int64_t delete_documents(domain::SourceType type,
                                        const std::vector<std::string>& source_ids) = 0;
  /// The full-text index takes what the two above record from a thread of the store, after the
  /// commit (docs/performance.md, "The full-text index in a file of its own"). By default write()
  /// returns once the index holds the transaction's documents (at most 5 s): what a caller
  /// writes, it can search. `defer_search_index()` lets this transaction's write() return at its
  /// commit (a job's commits, which may be shared by several jobs: each job's worker waits after
  /// its last commit, Store::wait_for_search_index).
  virtual void defer_search_index() = 0;
  /// Writes what this transaction changed so far to the store's log ahead of its commit, so that
  /// the commit itself has little left to write (a sync's commit calls it after the documents,
  /// before it stamps the job's updatedAt: the stamp is then within a few pages of the commit,
  /// docs/performance.md, "The commit's time"). Changes nothing that readers see.
  virtual void flush_pages() = 0;

  /// Inserts a new job; false (nothing written) when an active job holds its scope key.
  virtual bool insert_job(const domain::Job& job) = 0;
  /// Saves every field of the job; a finished job gives up its scope key.
  virtual void save_job(const domain::Job& job) = 0;
  /// Stores item errors found by the job's `attempt`, numbered after its last stored one.
  virtual void append_job_errors(std::string_view job_id, int attempt,
                                 const std::vector<domain::ItemError>& errors) = 0;
  /// Stores the document ids a bulk job acts on, numbered 1…n in the order given.
  virtual void insert_bulk_targets(std::string_view job_id, const std::vector<std::string>& document_ids) = 0;
  /// Removes item errors of the job by their numbers (those a retry has processed again).
  virtual void delete_job_errors(std::string_view job_id, const std::vector<std::int64_t>& seqs) = 0;
  /// Raises the scope's watermark to `seq`; a lower `seq` leaves it as it is (a retried older job
  /// completing after a newer one must not send the next incremental sync back).
  virtual void set_watermark(std::string_view scope_key, std::int64_t seq) = 0;

  /// Retention (docs/jobs.md): takes up to `max_jobs` finished jobs (completed, failed, cancelled)
  /// that ended before `ended_before`, deletes at most `max_errors` of their item errors and bulk
  /// targets together, then those of the jobs that have none left. Active jobs are never touched. Keeps each
  /// call's transaction short: call it again (in a new transaction) while it deletes `max_jobs` jobs or
  /// `max_errors` errors.
  virtual ExpiredJobsDeleted delete_expired_jobs(domain::TimestampMs ended_before, std::size_t max_jobs,
                                                 std::size_t max_errors) = 0;
};

/// The storage interface. SQLite implements it now, PostgreSQL later; handlers see only this.
/// Every method may be called from any thread; each blocks, so call them off the I/O threads.
/// What the store's upkeep of its write-ahead log did since it opened (SQLite: docs/performance.md,
/// "A writer that does not pause"), for GET /metrics.
struct WalActivity {
  std::int64_t wal_bytes = 0;            ///< frames in the WAL after the last commit, in bytes
  std::uint64_t writer_checkpoints = 0;  ///< RESTART checkpoints the writer ran past the bound
  double writer_checkpoint_seconds = 0;  ///< the writes they held up, wall clock
  std::uint64_t restarts = 0;            ///< times the WAL was written from its start again
  std::uint64_t checkpointer_passes = 0;
  std::uint64_t truncations = 0;  ///< TRUNCATE checkpoints of the background checkpointer
};

/// The full-text index's upkeep (docs/performance.md, "The full-text index in a file of its own").
struct SearchIndexActivity {
  std::uint64_t passes = 0;     ///< passes of the indexer that indexed something
  std::uint64_t documents = 0;  ///< documents those passes indexed (a rebuild's included)
  /// Changes this process committed that the index has not taken yet (0 when it is up to date).
  std::int64_t behind = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  /// The full-text index's upkeep so far; nothing for a store that indexes in its commits.
  virtual std::optional<SearchIndexActivity> search_index_activity() { return std::nullopt; }

  /// The WAL's upkeep so far; nothing for a store without one. Never waits for a writer.
  virtual std::optional<WalActivity> wal_activity() { return std::nullopt; }

  /// Gives back the room kept aside for the write that records a failure when the disk is full
  /// (SQLite: the `<database>-reserve` file, docs/fuzzing.md "Faults"); true when it freed any.
  virtual bool release_reserve() { return false; }

  /// Returns once the full-text index holds every document committed before the call (at most
  /// 5 s): what a job calls after its last commit, whose slices did not wait
  /// (Writer::defer_search_index). Nothing to wait for in a store that indexes in its commits.
  virtual void wait_for_search_index() {}

  /// Applies every pending migration; returns the schema version reached.
  virtual int migrate() = 0;
  /// The applied schema version, 0 for an empty database.
  virtual int schema_version() = 0;
  /// True when the database answers a trivial query.
  virtual bool ping() = 0;
  /// A value that changes whenever a committed transaction inserted or deleted a user or changed
  /// a user's id, email, role, status or token version, whoever made it: this process or another
  /// one on the same database (the CLI). The rights cache checks it before trusting what it holds
  /// (accounts/rights_cache.hpp, docs/performance.md). One small read.
  virtual std::uint64_t rights_version() = 0;

  /// Runs `fn` in a read transaction (a consistent snapshot).
  virtual void read(const std::function<void(Reader&)>& fn) = 0;
  /// Runs `fn` in a write transaction: committed when `fn` returns, rolled back when it throws
  /// (the exception propagates). Writers are serialized.
  virtual void write(const std::function<void(Writer&)>& fn) = 0;

  template <class F>
  auto read_value(F&& fn) -> decltype(fn(std::declval<Reader&>())) {
    std::optional<decltype(fn(std::declval<Reader&>()))> out;
    read([&](Reader& r) { out.emplace(fn(r)); });
    return std::move(*out);
  }
  template <class F>
  auto write_value(F&& fn) -> decltype(fn(std::declval<Writer&>())) {
    std::optional<decltype(fn(std::declval<Writer&>()))> out;
    write([&](Writer& w) { out.emplace(fn(w)); });
    return std::move(*out);
  }
};

/// Opens the store named by a database URL: `sqlite:///path/file.db` (or a plain path).
/// Throws std::runtime_error naming the problem for a URL it cannot open.
std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size);

}  // namespace mladmin::store
