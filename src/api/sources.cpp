// Journal entries and goals: the app data that syncs copy (docs/jobs.md, docs/openapi.yaml). Owners manage
// their own records; ml_admin and admin read everyone's. Deleting leaves a tombstone.
#include "api/sources.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/ids.hpp"
#include "sources/records.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;

namespace {

bool can_read_all(const auth::Caller& caller) {
  return domain::at_least(caller.role, domain::Role::ml_admin);
}

/// Someone else's record answers 404 to a caller who may not read it, so that ids of other
/// users' records cannot be probed (docs/security.md).
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

JsonBody record_body(const http::Request& req, domain::SourceType type) {
  JsonBody body(req);
  body.allow(type == domain::SourceType::journal_entries
                 ? std::span<const std::string_view>(sources::kJournalEntryFields)
                 : std::span<const std::string_view>(sources::kGoalFields));
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
  q.before = time_id_cursor(req);
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
    out["nextCursor"] = encode_time_id_cursor(page.items.back().created_at, page.items.back().id);
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

/// What differs between the two kinds of record; the handlers below are the same for both.
template <class T>
struct Kind;

template <>
struct Kind<domain::JournalEntry> {
  static constexpr const char* kName = "journal entry";
  static constexpr const char* kBase = "/api/journal-entries";
  static constexpr domain::SourceType kType = domain::SourceType::journal_entries;
  static auto find(store::Reader& r, std::string_view id) { return r.find_journal_entry(id); }
  static auto list(store::Reader& r, const store::SourceQuery& q) { return r.list_journal_entries(q); }
  static void save(store::Writer& w, domain::JournalEntry& e) { w.save_journal_entry(e); }
};

template <>
struct Kind<domain::Goal> {
  static constexpr const char* kName = "goal";
  static constexpr const char* kBase = "/api/goals";
  static constexpr domain::SourceType kType = domain::SourceType::goals;
  static auto find(store::Reader& r, std::string_view id) { return r.find_goal(id); }
  static auto list(store::Reader& r, const store::SourceQuery& q) { return r.list_goals(q); }
  static void save(store::Writer& w, domain::Goal& g) { w.save_goal(g); }
};

template <class T>
http::Response list_records(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto q = list_query(req, caller);
  return page_response(ctx.store.read_value([&](store::Reader& r) { return Kind<T>::list(r, q); }));
}

template <class T>
http::Response create_record(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, Kind<T>::kType);
  T record;
  sources::read_fields(body, record);
  record.id = ctx.ids.next();
  record.user_id = caller.id;
  record.created_at = record.updated_at = ctx.clock.now_ms();
  ctx.store.write([&](store::Writer& w) { Kind<T>::save(w, record); });
  return created(record, Kind<T>::kBase);
}

template <class T>
http::Response get_record(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  auto record = ctx.store.read_value([&](store::Reader& r) { return Kind<T>::find(r, req.param("id")); });
  return json_response(200, to_json(readable_or_404(std::move(record), caller, Kind<T>::kName)));
}

template <class T>
http::Response update_record(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto body = record_body(req, Kind<T>::kType);
  auto saved = ctx.store.write_value([&](store::Writer& w) {
    auto record = writable(Kind<T>::find(w, req.param("id")), caller, Kind<T>::kName);
    sources::read_fields(body, record);
    record.updated_at = ctx.clock.now_ms();
    Kind<T>::save(w, record);
    return record;
  });
  return json_response(200, to_json(saved));
}

template <class T>
http::Response delete_record(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  ctx.store.write([&](store::Writer& w) {
    auto record = writable(Kind<T>::find(w, req.param("id")), caller, Kind<T>::kName);
    record.deleted_at = record.updated_at = ctx.clock.now_ms();  // a tombstone, for the next sync
    Kind<T>::save(w, record);
  });
  return no_content();
}

}  // namespace

boost::json::object source_record_json(const domain::JournalEntry& entry) {
  return to_json(entry);
}

boost::json::object source_record_json(const domain::Goal& goal) {
  return to_json(goal);
}

http::Response list_journal_entries(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return list_records<domain::JournalEntry>(req, caller, ctx);
}
http::Response create_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return create_record<domain::JournalEntry>(req, caller, ctx);
}
http::Response get_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return get_record<domain::JournalEntry>(req, caller, ctx);
}
http::Response update_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return update_record<domain::JournalEntry>(req, caller, ctx);
}
http::Response delete_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return delete_record<domain::JournalEntry>(req, caller, ctx);
}
http::Response list_goals(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return list_records<domain::Goal>(req, caller, ctx);
}
http::Response create_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return create_record<domain::Goal>(req, caller, ctx);
}
http::Response get_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return get_record<domain::Goal>(req, caller, ctx);
}
http::Response update_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return update_record<domain::Goal>(req, caller, ctx);
}
http::Response delete_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return delete_record<domain::Goal>(req, caller, ctx);
}

}  // namespace mladmin::api
