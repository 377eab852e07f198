// POST /api/ml/documents/bulk (issue 4, docs/openapi.yaml): delete or re-sync synced documents named by
// ids or matched by a filter. A dry run only counts; up to kSyncLimit targets are acted on at
// once in one write transaction with a result per document; more run as a tracked bulk job
// (202 with the job). Every action that changes something is audited.
#include "api/document_bulk.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_map>
#include <unordered_set>

#include "api/documents.hpp"
#include "api/job_json.hpp"
#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/document_filter_json.hpp"
#include "domain/error.hpp"
#include "store/store.hpp"
#include "sync/bulk.hpp"
#include "sync/engine.hpp"

namespace mladmin::api {

using domain::field_error;

namespace {

/// The most targets acted on within the request; more run as a job.
constexpr std::size_t kSyncLimit = 1000;
/// The most ids one request may name.
constexpr std::size_t kMaxIds = 10'000;

struct BulkBody {
  sync::BulkAction action = sync::BulkAction::remove;
  sync::BulkTarget target;
  domain::DocumentFilter filter;  ///< compiled from target.filter
  bool dry_run = false;
};

bool selects_everything(const domain::DocumentFilter& f) {
  return !f.match && !f.type && !f.user_id && !f.from && !f.to;
}

BulkBody parse_body(const http::Request& req) {
  JsonBody body(req);
  body.allow({"action", "ids", "filter", "all", "dryRun"});
  BulkBody out;
  const auto action_text = body.required_string("action");
  const auto action = sync::parse_bulk_action(action_text);
  if (!action) {
    throw field_error("action", "must be delete or resync, not '" + action_text + "'");
  }
  out.action = *action;
  out.dry_run = body.optional_bool("dryRun").value_or(false);
  const auto all = body.optional_bool("all");
  const auto* ids = body.get("ids");
  const auto* filter = body.get("filter");
  if (ids != nullptr && filter != nullptr) {
    throw field_error("filter", "cannot be combined with ids; send one of them");
  }
  if (ids == nullptr && filter == nullptr) {
    throw field_error("ids", "is required unless a filter is given; send ids or filter");
  }
  if (ids != nullptr) {
    if (all) {
      throw field_error("all", "only goes with an empty filter");
    }
    if (!ids->is_array() || ids->as_array().empty() || ids->as_array().size() > kMaxIds) {
      throw field_error("ids", "must be an array of 1 to " + std::to_string(kMaxIds) + " document ids");
    }
    std::unordered_set<std::string> seen;
    for (const auto& v : ids->as_array()) {
      if (!v.is_string() || v.as_string().empty()) {
        throw field_error("ids", "must contain only non-empty strings");
      }
      std::string id(v.as_string());
      if (seen.insert(id).second) {
        out.target.ids.push_back(std::move(id));
      }
    }
    return out;
  }
  if (!filter->is_object()) {
    throw field_error("filter", std::string("must be an object, not ") + util::json_kind_name(*filter));
  }
  out.target.filter = domain::filter_spec_from_json(filter->as_object(), "filter.");
  out.filter = domain::compile_filter(*out.target.filter, "filter.");
  // A filter that narrows nothing takes every document: only when asked for in so many words.
  if (selects_everything(out.filter) && all != true) {
    throw field_error("filter",
                      "is empty and would take every document; narrow it, or send \"all\": true to act on "
                      "every document");
  }
  if (!selects_everything(out.filter) && all) {
    throw field_error("all", "only goes with an empty filter");
  }
  return out;
}

std::string audit_action(sync::BulkAction action) {
  return action == sync::BulkAction::remove ? "document.bulk_delete" : "document.bulk_resync";
}

/// The audit details every bulk action shares: the filter as written or the number of ids.
boost::json::object audit_details(const BulkBody& b, std::int64_t matched) {
  boost::json::object d{{"action", sync::to_string(b.action)}, {"matched", matched}};
  if (b.target.filter) {
    d["filter"] = domain::filter_spec_json(*b.target.filter);
  } else {
    d["idCount"] = b.target.ids.size();
  }
  return d;
}

void audit(store::Writer& w, ApiContext& ctx, const auth::Caller& caller, const BulkBody& b,
           boost::json::object details) {
  audit_document_action(w, ctx, caller, audit_action(b.action), std::nullopt, details);
}

/// The documents the action takes at this moment, or nullopt when there are more than
/// kSyncLimit (then a job takes them). A filter's search stops after [search] bulk_deadline_ms
/// (503 query_timeout).
std::optional<std::vector<store::Document>> small_targets(store::Reader& r, const BulkBody& b,
                                                          std::chrono::microseconds deadline) {
  if (b.target.filter) {
    auto f = b.filter;
    f.max_seq = r.max_document_seq();
    auto docs = r.matching_documents_after(f, 0, kSyncLimit + 1, deadline);
    return docs.size() > kSyncLimit ? std::nullopt : std::optional(std::move(docs));
  }
  auto found = r.find_documents(b.target.ids);
  if (found.size() > kSyncLimit) {
    return std::nullopt;
  }
  return found;
}

/// Those of the documents a filter's search found (before the write lock) that still match it
/// now, in seq order; nullopt stays nullopt (too many). The check is the filter restricted to
/// the found documents, so its cost under the write lock is bounded by kSyncLimit rowid seeks: a
/// document deleted, or changed by a sync so that it no longer matches, since the search is left
/// out.
std::optional<std::vector<store::Document>> still_matching(
    store::Reader& r, const BulkBody& b, const std::optional<std::vector<store::Document>>& found) {
  if (!found) {
    return std::nullopt;
  }
  std::vector<std::int64_t> seqs;
  seqs.reserve(found->size());
  for (const auto& d : *found) {
    seqs.push_back(d.seq);
  }
  return r.matching_documents_among(b.filter, seqs);
}

http::Response dry_run(const BulkBody& b, ApiContext& ctx) {
  const auto matched = ctx.store.read_value([&](store::Reader& r) -> std::int64_t {
    if (b.target.filter) {
      auto f = b.filter;
      f.max_seq = r.max_document_seq();
      return r.count_matching_documents(f, ctx.bulk_search_deadline);
    }
    return static_cast<std::int64_t>(r.find_documents(b.target.ids).size());
  });
  return json_response(200,
                       boost::json::object{{"action", sync::to_string(b.action)},
                                           {"dryRun", true},
                                           {"matched", matched},
                                           {"runsAsJob", matched > static_cast<std::int64_t>(kSyncLimit)}});
}

}  // namespace

http::Response bulk_documents(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const BulkBody b = parse_body(req);
  if (b.dry_run) {
    return dry_run(b, ctx);
  }
  // A filter's search runs before the write lock (docs/security.md): inside BEGIN IMMEDIATE a long
  // full-text search would block every writer. The write transaction checks the documents it
  // found against the filter again; one that went, or stopped matching, meanwhile is left out.
  std::optional<std::vector<store::Document>> found;
  if (b.target.filter) {
    found =
        ctx.store.read_value([&](store::Reader& r) { return small_targets(r, b, ctx.bulk_search_deadline); });
  }
  // Small: act now, in one write transaction.
  auto answer = ctx.store.write_value([&](store::Writer& w) -> std::optional<boost::json::object> {
    auto docs = b.target.filter ? still_matching(w, b, found) : small_targets(w, b, ctx.bulk_search_deadline);
    if (!docs) {
      return std::nullopt;
    }
    const auto results = sync::apply_bulk(w, b.action, *docs, "", ctx.clock, ctx.ids);
    std::unordered_map<std::string, const sync::BulkItemResult*> by_id;
    for (const auto& r : results) {
      by_id.emplace(r.document_id, &r);
    }
    std::int64_t deleted = 0;
    std::int64_t resynced = 0;
    std::int64_t failed = 0;
    std::int64_t not_found = 0;
    boost::json::array items;
    auto add = [&](const std::string& id, const sync::BulkItemResult* r) {
      const auto status = r != nullptr ? r->status : sync::BulkItemStatus::not_found;
      boost::json::object item{{"id", id}, {"status", sync::to_string(status)}};
      if (r != nullptr && !r->reason.empty()) {
        item["reason"] = r->reason;
      }
      switch (status) {
        case sync::BulkItemStatus::deleted:
          ++deleted;
          break;
        case sync::BulkItemStatus::resynced:
          ++resynced;
          break;
        case sync::BulkItemStatus::failed:
          ++failed;
          break;
        case sync::BulkItemStatus::not_found:
          ++not_found;
          break;
      }
      items.push_back(std::move(item));
    };
    if (b.target.filter) {
      for (const auto& r : results) {
        add(r.document_id, &r);
      }
    } else {
      for (const auto& id : b.target.ids) {  // request order, with the ids that named nothing
        auto it = by_id.find(id);
        add(id, it != by_id.end() ? it->second : nullptr);
      }
    }
    const auto matched = static_cast<std::int64_t>(results.size());
    boost::json::object out{{"action", sync::to_string(b.action)}, {"dryRun", false}, {"matched", matched}};
    out["deleted"] = deleted;
    if (b.action == sync::BulkAction::resync) {
      out["resynced"] = resynced;
    }
    out["failed"] = failed;
    out["notFound"] = not_found;
    auto details = audit_details(b, matched);
    details["deleted"] = deleted;
    if (b.action == sync::BulkAction::resync) {
      details["resynced"] = resynced;
    }
    details["failed"] = failed;
    audit(w, ctx, caller, b, std::move(details));
    out["results"] = std::move(items);
    return out;
  });
  if (answer) {
    return json_response(200, *answer);
  }
  // Large: a tracked job, audited in the transaction that creates it.
  sync::BulkStartRequest start;
  start.action = b.action;
  start.target = b.target;
  start.started_by = caller.id;
  start.on_created = [&](store::Writer& w, const domain::Job& job) {
    auto details = audit_details(b, job.counters.total);
    details["jobId"] = job.id;
    audit(w, ctx, caller, b, std::move(details));
  };
  const auto job = ctx.engine.start_bulk(start);
  auto res = json_response(202, job_json(job, ctx.clock.now_ms()));
  res.header("Location", "/api/ml/sync/job/" + job.id);
  return res;
}

}  // namespace mladmin::api
