// GET /api/ml/documents (search and listing), GET and DELETE /api/ml/documents/:id.
#include "api/documents.hpp"

#include <bit>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_map>

#include "api/job_json.hpp"
#include "api/json.hpp"
#include "api/sources.hpp"
#include "domain/clock.hpp"
#include "domain/document_filter_json.hpp"
#include "domain/error.hpp"
#include "domain/ids.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

namespace {

domain::DocumentFilterSpec filter_spec(const http::Request& req) {
  auto param = [&](std::string_view name) -> std::optional<std::string> {
    if (auto v = req.query_param(name)) {
      return std::string(*v);
    }
    return std::nullopt;
  };
  domain::DocumentFilterSpec spec;
  spec.q = param("q");
  spec.type = param("type");
  spec.user_id = param("userId");
  spec.from = param("from");
  spec.to = param("to");
  spec.date_field = param("dateField");
  return spec;
}

const char* sort_name(store::DocumentSort s) {
  switch (s) {
    case store::DocumentSort::relevance:
      return "relevance";
    case store::DocumentSort::newest:
      return "newest";
    case store::DocumentSort::oldest:
      return "oldest";
  }
  return "newest";
}

store::DocumentSort sort_param(const http::Request& req, bool searching) {
  const auto v = req.query_param("sort");
  if (!v) {
    return searching ? store::DocumentSort::relevance : store::DocumentSort::newest;
  }
  for (auto s : {store::DocumentSort::relevance, store::DocumentSort::newest, store::DocumentSort::oldest}) {
    if (*v == sort_name(s)) {
      if (s == store::DocumentSort::relevance && !searching) {
        throw field_error("sort", "relevance needs a search text in q");
      }
      return s;
    }
  }
  throw field_error("sort", "must be relevance, newest or oldest");
}

/// FNV-1a of the listing's filter and sort: a cursor only continues the listing it came from.
std::int64_t listing_key(const domain::DocumentFilterSpec& spec, store::DocumentSort sort) {
  const auto text = boost::json::serialize(domain::filter_spec_json(spec)) + sort_name(sort);
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return static_cast<std::int64_t>(h >> 1);
}

std::int64_t int_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) {
    throw field_error("cursor", "is not a cursor this server handed out; start again without it");
  }
  return v->as_int64();
}

/// Reads the cursor back into the query: the keyset position and, for relevance, the pinned
/// corpus figures and snapshot bound.
void apply_cursor(std::string_view cursor, std::int64_t key, store::DocumentQuery& q,
                  std::optional<std::int64_t>& ranked_over) {
  const auto pos = decode_cursor(cursor);
  if (int_at(pos, "k") != key) {
    throw field_error("cursor", "belongs to another search, filter or sort; start again without it");
  }
  store::DocumentQuery::After after;
  after.seq = int_at(pos, "r");
  after.value = int_at(pos, "v");
  if (q.sort == store::DocumentSort::relevance) {
    after.score = std::bit_cast<double>(after.value);
    q.filter.max_seq = int_at(pos, "b");
    const auto* st = pos.if_contains("st");
    if (st == nullptr || !st->is_array() || st->as_array().size() < 2) {
      throw field_error("cursor", "is not a cursor this server handed out; start again without it");
    }
    store::RankStats stats;
    std::vector<std::int64_t> values;
    for (const auto& v : st->as_array()) {
      if (!v.is_int64() || v.as_int64() < 0) {
        throw field_error("cursor", "is not a cursor this server handed out; start again without it");
      }
      values.push_back(v.as_int64());
    }
    stats.rows = values[0];
    stats.tokens = values[1];
    stats.phrase_rows.assign(values.begin() + 2, values.end());
    q.stats = std::move(stats);
    // A first page that ranked a bounded candidate set pinned its lowest seq and its size.
    if (pos.contains("lo")) {
      q.rank_floor = int_at(pos, "lo");
      ranked_over = int_at(pos, "n");
    }
  }
  q.after = after;
}

std::string next_cursor(const store::DocumentPage& page, const store::DocumentQuery& q, std::int64_t key,
                        const std::optional<std::int64_t>& ranked_over) {
  const auto& last = page.items.back();
  boost::json::object pos{{"k", key}, {"r", last.doc.seq}};
  if (q.sort == store::DocumentSort::relevance) {
    pos["v"] = std::bit_cast<std::int64_t>(last.score);
    pos["b"] = page.max_seq;
    boost::json::array st{page.stats->rows, page.stats->tokens};
    for (auto n : page.stats->phrase_rows) {
      st.push_back(n);
    }
    pos["st"] = std::move(st);
    if (page.rank_floor && ranked_over) {
      pos["lo"] = *page.rank_floor;
      pos["n"] = *ranked_over;
    }
  } else {
    pos["v"] = q.filter.date == store::DocumentDate::source ? last.doc.source_created_at : last.doc.synced_at;
  }
  return encode_cursor(pos);
}

boost::json::value metadata_value(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  return ec ? boost::json::value(text) : v;
}

/// The document's owner as the listing shows them, or null when the account no longer exists.
boost::json::value owner_json(const std::optional<domain::User>& user) {
  if (!user) {
    return nullptr;
  }
  return boost::json::object{{"id", user->id}, {"email", user->email}, {"name", user->name}};
}

store::Document readable_document(ApiContext& ctx, const std::string& id) {
  auto doc = ctx.store.read_value([&](store::Reader& r) { return r.find_document(id); });
  if (!doc) {
    throw domain::not_found("document");
  }
  return std::move(*doc);
}

}  // namespace

boost::json::object document_json(const store::Document& d) {
  boost::json::object o{{"id", d.id},
                        {"userId", d.user_id},
                        {"sourceType", domain::to_string(d.source_type)},
                        {"sourceId", d.source_id},
                        {"title", d.title},
                        {"metadata", metadata_value(d.metadata_json)},
                        {"contentHash", d.content_hash},
                        {"syncedAt", domain::format_iso8601(d.synced_at)},
                        {"sourceCreatedAt", timestamp_json(d.source_created_at)},
                        {"version", d.version},
                        {"jobId", d.job_id ? boost::json::value(*d.job_id) : nullptr}};
  return o;
}

void audit_document_action(store::Writer& w, ApiContext& ctx, const auth::Caller& caller, std::string action,
                           std::optional<std::string> document_id, const boost::json::object& details) {
  store::AuditEntry e;
  e.id = ctx.ids.next();
  e.at = ctx.clock.now_ms();
  e.actor_id = caller.id;
  e.actor_label = caller.email;
  e.action = std::move(action);
  e.target_type = "document";
  e.target_id = std::move(document_id);
  e.details_json = boost::json::serialize(details);
  w.insert_audit(e);
}

http::Response list_documents(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  allow_params(req, {"q", "type", "userId", "from", "to", "dateField", "sort", "limit", "cursor"});
  const auto spec = filter_spec(req);
  store::DocumentQuery q;
  q.filter = domain::compile_filter(spec);
  q.sort = sort_param(req, q.filter.match.has_value());
  q.limit = limit_param(req);
  q.rank_candidates = ctx.search_rank_candidates;
  q.deadline = ctx.search_deadline;
  const auto key = listing_key(spec, q.sort);
  std::optional<std::int64_t> ranked_over;  // set when relevance ranks a bounded candidate set
  if (auto cursor = req.query_param("cursor")) {
    apply_cursor(*cursor, key, q, ranked_over);
  }
  // The page's owners are read in the same transaction: at most `limit` lookups by key.
  std::unordered_map<std::string, std::optional<domain::User>> owners;
  const auto page = ctx.store.read_value([&](store::Reader& r) {
    auto found = r.search_documents(q);
    for (const auto& hit : found.items) {
      if (!owners.contains(hit.doc.user_id)) {
        owners.emplace(hit.doc.user_id, r.find_user(hit.doc.user_id));
      }
    }
    return found;
  });
  if (page.ranked_over) {
    ranked_over = page.ranked_over;
  }
  boost::json::array items;
  for (const auto& hit : page.items) {
    auto o = document_json(hit.doc);
    o["owner"] = owner_json(owners[hit.doc.user_id]);
    o["titleHighlight"] = hit.title_html;
    o["snippet"] = hit.snippet;
    o["score"] = q.sort == store::DocumentSort::relevance ? boost::json::value(hit.score) : nullptr;
    items.push_back(std::move(o));
  }
  boost::json::object out{{"items", std::move(items)}, {"nextCursor", nullptr}};
  if (page.has_more && !page.items.empty()) {
    out["nextCursor"] = next_cursor(page, q, key, ranked_over);
  }
  if (ranked_over) {
    out["rankedOver"] = *ranked_over;  // only the newest this many matches were ranked
  }
  return json_response(200, out);
}

http::Response get_document(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  allow_params(req, {});
  const auto doc = readable_document(ctx, req.param("id"));
  auto out = document_json(doc);
  out["text"] = doc.text;
  // The source record as it is now (null when it no longer exists), and the job that last wrote
  // the document (null when retention has removed it, or a bulk action wrote it directly).
  boost::json::value source = nullptr;
  std::optional<domain::Job> job;
  std::optional<domain::User> owner;
  ctx.store.read([&](store::Reader& r) {
    owner = r.find_user(doc.user_id);
    if (doc.source_type == domain::SourceType::journal_entries) {
      if (auto e = r.find_journal_entry(doc.source_id)) {
        auto o = source_record_json(*e);
        o["deleted"] = e->deleted_at.has_value();
        source = std::move(o);
      }
    } else if (auto g = r.find_goal(doc.source_id)) {
      auto o = source_record_json(*g);
      o["deleted"] = g->deleted_at.has_value();
      source = std::move(o);
    }
    if (doc.job_id) {
      job = r.find_job(*doc.job_id);
    }
  });
  out["owner"] = owner_json(owner);
  out["source"] = std::move(source);
  out["job"] = job ? boost::json::value(job_json(*job, ctx.clock.now_ms())) : nullptr;
  return json_response(200, out);
}

http::Response delete_document(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  allow_params(req, {});
  const std::string id = req.param("id");
  ctx.store.write([&](store::Writer& w) {
    auto doc = w.find_document(id);
    if (!doc) {
      throw domain::not_found("document");
    }
    w.delete_documents(doc->source_type, {doc->source_id});
    audit_document_action(w, ctx, caller, "document.delete", doc->id,
                          {{"sourceType", domain::to_string(doc->source_type)},
                           {"sourceId", doc->source_id},
                           {"userId", doc->user_id},
                           {"version", doc->version}});
  });
  http::Response res;
  res.status = 204;
  return res;
}

}  // namespace mladmin::api
