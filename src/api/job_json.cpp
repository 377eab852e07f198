#include "api/job_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <limits>
#include <type_traits>

#include "domain/document_filter_json.hpp"
#include "sync/bulk_action.hpp"

namespace mladmin::api {

namespace {

namespace json = boost::json;

/// Whether a field is always in the JSON (null when a nullable one has no value) or only when set.
enum class Presence { always, when_set };

template <class Wire, class Visit>
void item_error_fields(Wire& e, Visit&& v) {
  v("itemId", e.item_id, Presence::always);
  v("reason", e.reason, Presence::always);
  v("at", e.at, Presence::always);
}

/// The one list of the job's fields (docs/openapi.yaml, components/schemas/Job), in the order the
/// JSON shows them: writing and reading both go through it.
template <class Wire, class Visit>
void job_fields(Wire& j, Visit&& v) {
  v("id", j.id, Presence::always);
  v("userId", j.user_id, Presence::always);
  v("type", j.type, Presence::always);
  v("status", j.status, Presence::always);
  v("totalItems", j.total_items, Presence::always);
  v("processedItems", j.processed_items, Presence::always);
  v("syncedItems", j.synced_items, Presence::always);
  v("failedItems", j.failed_items, Presence::always);
  v("progress", j.progress, Presence::always);
  v("errors", j.errors, Presence::always);
  v("startTime", j.start_time, Presence::always);
  v("endTime", j.end_time, Presence::always);
  v("duration", j.duration, Presence::always);
  v("scope", j.scope, Presence::always);
  v("scopeUserId", j.scope_user_id, Presence::always);
  v("mode", j.mode, Presence::always);
  v("skippedItems", j.skipped_items, Presence::always);
  v("errorCount", j.error_count, Presence::always);
  v("attempt", j.attempt, Presence::always);
  v("createdAt", j.created_at, Presence::always);
  v("updatedAt", j.updated_at, Presence::always);
  v("itemsPerSecond", j.items_per_second, Presence::always);
  v("etaSeconds", j.eta_seconds, Presence::always);
  v("cancelRequested", j.cancel_requested, Presence::always);
  v("failureReason", j.failure_reason, Presence::when_set);
  v("bulk", j.bulk, Presence::when_set);
}

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

// Writing.

json::value to_value(const std::string& s) {
  return json::value(s);
}
json::value to_value(std::int64_t n) {
  return json::value(n);
}
json::value to_value(double d) {
  return json::value(d);
}
json::value to_value(bool b) {
  return json::value(b);
}
json::value to_value(const json::object& o) {
  return json::value(o);
}
json::value to_value(const JobWire::ItemError& e);
template <class T>
json::value to_value(const std::vector<T>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& item : items) {
    out.push_back(to_value(item));
  }
  return out;
}
template <class T>
json::value to_value(const std::optional<T>& v) {
  return v ? to_value(*v) : json::value(nullptr);
}

struct Writer {
  json::object& out;
  template <class T>
  void operator()(const char* name, const T& value, Presence presence) const {
    if constexpr (IsOptional<T>::value) {
      if (presence == Presence::when_set && !value) {
        return;
      }
    }
    out[name] = to_value(value);
  }
};

json::value to_value(const JobWire::ItemError& e) {
  json::object o;
  item_error_fields(e, Writer{o});
  return o;
}

// Reading.

bool from_value(const json::value& v, std::string& out) {
  if (!v.is_string()) {
    return false;
  }
  out = std::string(v.as_string());
  return true;
}
bool from_value(const json::value& v, std::int64_t& out) {
  if (v.is_int64()) {
    out = v.as_int64();
    return true;
  }
  if (v.is_uint64() &&
      v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(v.as_uint64());
    return true;
  }
  if (v.is_double() && std::isfinite(v.as_double()) && std::fabs(v.as_double()) < 9.0e18) {
    out = std::llround(v.as_double());
    return true;
  }
  return false;
}
bool from_value(const json::value& v, double& out) {
  if (!v.is_number() || !std::isfinite(v.to_number<double>())) {
    return false;
  }
  out = v.to_number<double>();
  return true;
}
bool from_value(const json::value& v, bool& out) {
  if (!v.is_bool()) {
    return false;
  }
  out = v.as_bool();
  return true;
}
bool from_value(const json::value& v, json::object& out) {
  if (!v.is_object()) {
    return false;
  }
  out = v.as_object();
  return true;
}
bool from_value(const json::value& v, JobWire::ItemError& out);
template <class T>
bool from_value(const json::value& v, std::vector<T>& out) {
  if (!v.is_array()) {
    return false;
  }
  out.clear();
  for (const auto& item : v.as_array()) {
    if (!from_value(item, out.emplace_back())) {
      return false;
    }
  }
  return true;
}
template <class T>
bool from_value(const json::value& v, std::optional<T>& out) {
  if (v.is_null()) {
    out.reset();
    return true;
  }
  T value{};
  if (!from_value(v, value)) {
    return false;
  }
  out = std::move(value);
  return true;
}

struct Reader {
  const json::object& in;
  std::string& problem;
  template <class T>
  void operator()(const char* name, T& value, Presence presence) const {
    if (!problem.empty()) {
      return;
    }
    const auto* v = in.if_contains(name);
    if (v == nullptr) {
      if (presence == Presence::always) {
        problem = std::string("it has no '") + name + "'";
      }
      return;
    }
    if (!from_value(*v, value)) {
      problem = std::string("its '") + name + "' is not what docs/openapi.yaml says";
    }
  }
};

bool from_value(const json::value& v, JobWire::ItemError& out) {
  if (!v.is_object()) {
    return false;
  }
  std::string problem;
  item_error_fields(out, Reader{v.as_object(), problem});
  return problem.empty();
}

std::optional<std::string> opt_time(const std::optional<domain::TimestampMs>& t) {
  return t ? std::optional<std::string>(domain::format_iso8601(*t)) : std::nullopt;
}

}  // namespace

JobWire job_wire(const domain::Job& job, domain::TimestampMs now) {
  JobWire w;
  const auto& c = job.counters;
  w.id = job.id;
  w.user_id = job.user_id;
  w.type = std::string(domain::to_string(job.type));
  w.status = std::string(domain::to_string(job.status));
  w.total_items = c.total;
  w.processed_items = c.processed();
  w.synced_items = c.synced;
  w.failed_items = c.failed;
  w.progress = domain::progress_percent(c, job.status);
  for (const auto& e : job.errors) {
    w.errors.push_back({e.item_id, e.reason, domain::format_iso8601(e.at)});
  }
  w.start_time = opt_time(job.start_time);
  w.end_time = opt_time(job.end_time);
  if (job.start_time) {
    w.duration = (job.end_time ? *job.end_time : now) - *job.start_time;
  }
  w.scope = std::string(domain::to_string(job.scope));
  w.scope_user_id = job.scope_user_id;
  w.mode = std::string(domain::to_string(job.mode));
  w.skipped_items = c.skipped;
  w.error_count = job.error_count;
  w.attempt = job.attempt;
  w.created_at = domain::format_iso8601(job.created_at);
  w.updated_at = domain::format_iso8601(job.updated_at);
  w.items_per_second = domain::items_per_second(c.processed(), job.running_ms);
  w.eta_seconds = domain::eta_seconds(c, w.items_per_second, job.status);
  w.cancel_requested = job.cancel_requested;
  if (!job.failure_reason.empty()) {
    w.failure_reason = job.failure_reason;
  }
  if (job.bulk && domain::is_bulk(job.type)) {
    // A bulk job: {action, filter} or {action, idCount}.
    boost::json::object bulk{{"action", sync::to_string(sync::action_of(job.type))}};
    if (job.bulk->filter) {
      bulk["filter"] = domain::filter_spec_json(*job.bulk->filter);
    } else {
      bulk["idCount"] = job.bulk->id_count;
    }
    w.bulk = std::move(bulk);
  }
  return w;
}

json::object write_job_json(const JobWire& job) {
  json::object o;
  job_fields(job, Writer{o});
  return o;
}

json::object job_json(const domain::Job& job, domain::TimestampMs now) {
  return write_job_json(job_wire(job, now));
}

std::optional<JobWire> read_job_json(const json::value& json, std::string* problem) {
  std::string why;
  JobWire job;
  if (const auto* o = json.if_object()) {
    job_fields(job, Reader{*o, why});
  } else {
    why = "it is not a JSON object";
  }
  if (!why.empty()) {
    if (problem != nullptr) {
      *problem = std::move(why);
    }
    return std::nullopt;
  }
  return job;
}

}  // namespace mladmin::api
