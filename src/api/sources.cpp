// Journal entries and goals: the app data that syncs copy (SPEC §1, §3). Owners manage their
// own records; ml_admin and admin read everyone's. Deleting leaves a tombstone.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/handlers.hpp"
#include "api/json.hpp"
#include "domain/error.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

namespace {

constexpr std::size_t kMaxTags = 50;

bool can_read_all(const auth::Caller& caller) {
  return domain::at_least(caller.role, domain::Role::ml_admin);
}

/// Someone else's record answers 404 to a caller who may not read it, so that ids of other
/// users' records cannot be probed (SPEC §6).
template <class T>
T readable_or_404(std::optional<T> record, const auth::Caller& caller, const char* what) {
  if (!record || record->deleted_at || (record->user_id != caller.id && !can_read_all(caller))) {
    throw domain::not_found(what);
  }
  return std::move(*record);
}

/// Only the owner changes a record; a reader of all records is told why, anyone else gets 404.
template <class T>
T writable(std::optional<T> record, const auth::Caller& caller, const char* what) {
  auto r = readable_or_404(std::move(record), caller, what);
  if (r.user_id != caller.id) {
    throw Error(ErrorKind::forbidden, "not_owner", std::string("only the owner may change a ") + what);
  }
  return r;
}

void refuse_unsyncable(const std::optional<std::string>& problem) {
  if (problem) {
    throw Error(ErrorKind::unprocessable, "invalid_record", "the record cannot be synced: " + *problem);
  }
}

std::optional<std::int64_t> optional_int(const JsonBody& body, std::string_view name) {
  const auto* v = body.get(name);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->as_int64();
  }
  if (v->is_uint64()) {
    throw field_error(std::string(name), "is out of range");
  }
  throw field_error(std::string(name), "must be a whole number or null");
}

std::vector<std::string> tags_field(const JsonBody& body) {
  std::vector<std::string> tags;
  const auto* v = body.get("tags");
  if (v == nullptr || v->is_null()) {
    return tags;
  }
  if (!v->is_array()) {
    throw field_error("tags", "must be an array of strings");
  }
  if (v->as_array().size() > kMaxTags) {
    throw field_error("tags", "must hold at most " + std::to_string(kMaxTags) + " tags");
  }
  for (const auto& t : v->as_array()) {
    if (!t.is_string()) {
      throw field_error("tags", "must be an array of strings");
    }
    if (t.as_string().size() > 100) {
      throw field_error("tags", "each tag must be at most 100 characters");
    }
    tags.emplace_back(t.as_string());
  }
  return tags;
}

boost::json::object to_json(const domain::JournalEntry& e) {
  boost::json::array tags;
  for (const auto& t : e.tags) {
    tags.emplace_back(t);
  }
  return {{"id", e.id},
          {"userId", e.user_id},
          {"title", e.title},
          {"body", e.body},
          {"mood", e.mood ? boost::json::value(*e.mood) : nullptr},
          {"tags", std::move(tags)},
          {"createdAt", domain::format_iso8601(e.created_at)},
          {"updatedAt", domain::format_iso8601(e.updated_at)}};
}

boost::json::object to_json(const domain::Goal& g) {
  return {{"id", g.id},
          {"userId", g.user_id},
          {"title", g.title},
          {"description", g.description},
          {"status", g.status},
          {"targetDate", g.target_date ? boost::json::value(*g.target_date) : nullptr},
          {"createdAt", domain::format_iso8601(g.created_at)},
          {"updatedAt", domain::format_iso8601(g.updated_at)}};
}

void read_fields(const JsonBody& body, domain::JournalEntry& e) {
  e.title = body.required_string("title");
  e.body = body.required_string("body");
  e.mood = optional_int(body, "mood");
  if (e.mood && (*e.mood < 1 || *e.mood > 5)) {
    throw field_error("mood", "must be from 1 to 5, or null");
  }
  e.tags = tags_field(body);
  refuse_unsyncable(domain::sync_problem(e));
}

void read_fields(const JsonBody& body, domain::Goal& g) {
  g.title = body.required_string("title");
  g.description = body.optional_string("description").value_or("");
  g.status = body.optional_string("status").value_or("open");
  if (!domain::parse_goal_status(g.status)) {
    throw field_error("status", "must be open or done");
  }
  g.target_date.reset();
  if (const auto* v = body.get("targetDate"); v != nullptr && !v->is_null()) {
    if (!v->is_string() || !domain::valid_date(v->as_string())) {
      throw field_error("targetDate", "must be a date such as 2026-12-31, or null");
    }
    g.target_date = std::string(v->as_string());
  }
  refuse_unsyncable(domain::sync_problem(g));
}

JsonBody record_body(const http::Request& req, domain::SourceType type) {
  JsonBody body(req);
  if (type == domain::SourceType::journal_entries) {
    body.allow({"title", "body", "mood", "tags"});
  } else {
    body.allow({"title", "description", "status", "targetDate"});
  }
  return body;
}

store::SourceQuery list_query(const http::Request& req, const auth::Caller& caller) {
  allow_params(req, {"userId", "limit", "cursor"});
  store::SourceQuery q;
  q.limit = limit_param(req);
  const auto user_id = req.query_param("userId");
  if (can_read_all(caller)) {
    if (user_id) {
      q.user_id = std::string(*user_id);
    }
  } else {
    if (user_id && *user_id != caller.id) {
      throw Error(ErrorKind::forbidden, "forbidden", "you may only list your own records");
    }
    q.user_id = caller.id;
  }
  if (auto cursor = req.query_param("cursor")) {
    auto pos = decode_cursor(*cursor);
    const auto* c = pos.if_contains("c");
    const auto* id = pos.if_contains("id");
    if (c == nullptr || !c->is_int64() || id == nullptr || !id->is_string()) {
      throw field_error("cursor", "belongs to another listing; start again without it");
    }
    q.before = std::make_pair(c->as_int64(), std::string(id->as_string()));
  }
  return q;
}

template <class T>
http::Response page_response(const store::SourcePage<T>& page) {
  boost::json::array items;
  for (const auto& r : page.items) {
    items.push_back(to_json(r));
  }
  boost::json::object out{{"items", std::move(items)}, {"nextCursor", nullptr}};
  if (page.has_more && !page.items.empty()) {
    out["nextCursor"] = encode_cursor({{"c", page.items.back().created_at}, {"id", page.items.back().id}});
  }
  return json_response(200, out);
}

template <class T>
http::Response created(const T& record, const char* base) {
  auto res = json_response(201, to_json(record));
  res.header("Location", std::string(base) + "/" + record.id);
  return res;
}

http::Response no_content() {
  http::Response res;
  res.status = 204;
  return res;
}

}  // namespace

http::Response list_journal_entries(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto q = list_query(req, caller);
  return page_response(ctx.store.read_value([&](store::Reader& r) { return r.list_journal_entries(q); }));
}

http::Response create_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, domain::SourceType::journal_entries);
  domain::JournalEntry e;
  read_fields(body, e);
  e.id = ctx.ids.next();
  e.user_id = caller.id;
  e.created_at = e.updated_at = ctx.clock.now_ms();
  ctx.store.write([&](store::Writer& w) { w.save_journal_entry(e); });
  return created(e, "/api/journal-entries");
}

http::Response get_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  auto e = ctx.store.read_value([&](store::Reader& r) { return r.find_journal_entry(req.param("id")); });
  return json_response(200, to_json(readable_or_404(std::move(e), caller, "journal entry")));
}

http::Response update_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, domain::SourceType::journal_entries);
  auto saved = ctx.store.write_value([&](store::Writer& w) {
    auto e = writable(w.find_journal_entry(req.param("id")), caller, "journal entry");
    read_fields(body, e);
    e.updated_at = ctx.clock.now_ms();
    w.save_journal_entry(e);
    return e;
  });
  return json_response(200, to_json(saved));
}

http::Response delete_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  ctx.store.write([&](store::Writer& w) {
    auto e = writable(w.find_journal_entry(req.param("id")), caller, "journal entry");
    e.deleted_at = e.updated_at = ctx.clock.now_ms();
    w.save_journal_entry(e);
  });
  return no_content();
}

http::Response list_goals(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto q = list_query(req, caller);
  return page_response(ctx.store.read_value([&](store::Reader& r) { return r.list_goals(q); }));
}

http::Response create_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, domain::SourceType::goals);
  domain::Goal g;
  read_fields(body, g);
  g.id = ctx.ids.next();
  g.user_id = caller.id;
  g.created_at = g.updated_at = ctx.clock.now_ms();
  ctx.store.write([&](store::Writer& w) { w.save_goal(g); });
  return created(g, "/api/goals");
}

http::Response get_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  auto g = ctx.store.read_value([&](store::Reader& r) { return r.find_goal(req.param("id")); });
  return json_response(200, to_json(readable_or_404(std::move(g), caller, "goal")));
}

http::Response update_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, domain::SourceType::goals);
  auto saved = ctx.store.write_value([&](store::Writer& w) {
    auto g = writable(w.find_goal(req.param("id")), caller, "goal");
    read_fields(body, g);
    g.updated_at = ctx.clock.now_ms();
    w.save_goal(g);
    return g;
  });
  return json_response(200, to_json(saved));
}

http::Response delete_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  ctx.store.write([&](store::Writer& w) {
    auto g = writable(w.find_goal(req.param("id")), caller, "goal");
    g.deleted_at = g.updated_at = ctx.clock.now_ms();
    w.save_goal(g);
  });
  return no_content();
}

}  // namespace mladmin::api
