#include "api/job_view.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <mutex>

#include "api/job_json.hpp"

namespace mladmin::api {

namespace {

constexpr domain::TimestampMs kDayMs = 86'400'000;

/// What the job's JSON says before its duration's value: the first such member is the job's own,
/// since every quote inside a JSON string is escaped and `duration` comes before the members
/// that hold objects (docs/openapi.yaml, components/schemas/Job; job_json.cpp's list of fields).
constexpr std::string_view kDurationZero = "\"duration\":0";

}  // namespace

void JobView::Entry::append_json(std::string& out, domain::TimestampMs now) const {
  out += json;
  if (splice_duration) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, now - *start_time).ptr;
    out.append(digits, end);
    out += json_tail;
  }
}

std::shared_ptr<const JobView::Entry> JobView::make_entry(const domain::Job& job) {
  auto e = std::make_shared<Entry>();
  e->id = job.id;
  e->user_id = job.user_id;
  e->scope_user_id = job.scope_user_id;
  e->scope = job.scope;
  e->type = job.type;
  e->status = job.status;
  e->created_at = job.created_at;
  e->start_time = job.start_time;
  e->end_time = job.end_time;
  const bool runs = job.start_time && !job.end_time;
  auto obj = job_json(job, runs ? *job.start_time : 0);  // duration 0 while it runs
  e->json = boost::json::serialize(obj);
  if (runs) {
    const auto at = e->json.find(kDurationZero);
    if (at != std::string::npos) {
      const auto cut = at + kDurationZero.size() - 1;  // before the 0
      e->json_tail = e->json.substr(cut + 1);
      e->json.resize(cut);
      e->splice_duration = true;
    }
  }
  return e;
}

bool JobView::expired(const Entry& e, domain::TimestampMs now) const {
  // The retention sweep (sync/retention.cpp) deletes finished jobs whose end_time is before its
  // own now minus retention_days, a now no later than this one.
  return retention_days_ > 0 && domain::is_finished(e.status) && e.end_time &&
         *e.end_time < now - static_cast<domain::TimestampMs>(retention_days_) * kDayMs;
}

void JobView::load(store::Store& store, domain::TimestampMs now) {
  std::vector<domain::Job> newest;
  std::vector<domain::Job> active;
  store.read([&](store::Reader& r) {
    store::JobQuery q;
    q.limit = keep_ + 1;
    newest = r.list_jobs(q).items;
    active = r.jobs_in({domain::JobStatus::queued, domain::JobStatus::running, domain::JobStatus::paused,
                        domain::JobStatus::interrupted});
  });
  std::unique_lock lock(mutex_);
  ordered_.clear();
  by_id_.clear();
  bound_.reset();
  finished_above_ = 0;
  if (newest.size() > keep_) {
    // The oldest one read is the first not held (unless active, below): every job above it is.
    bound_ = Key(newest.back().created_at, newest.back().id);
    newest.pop_back();
  }
  for (const auto& job : newest) {
    put(make_entry(job));
  }
  for (const auto& job : active) {
    put(make_entry(job));
  }
  trim(now);
}

void JobView::update(const domain::Job& job, domain::TimestampMs now) {
  auto entry = make_entry(job);  // serialized outside the lock
  std::unique_lock lock(mutex_);
  put(std::move(entry));
  trim(now);
}

void JobView::put(std::shared_ptr<const Entry> entry) {
  Key key(entry->created_at, entry->id);
  const bool finished = domain::is_finished(entry->status);
  if (auto found = by_id_.find(entry->id); found != by_id_.end()) {
    auto it = found->second;
    if (above_bound(it->first) && domain::is_finished(it->second->status)) {
      --finished_above_;
    }
    if (it->first != key) {  // createdAt never changes; kept exact anyway
      ordered_.erase(it);
      by_id_.erase(found);
    } else if (finished && !above_bound(key)) {
      // Held only while active, below the bound: a finished one is read from the database.
      ordered_.erase(it);
      by_id_.erase(found);
      return;
    } else {
      it->second = std::move(entry);
      if (finished && above_bound(key)) {
        ++finished_above_;
      }
      return;
    }
  }
  if (finished && !above_bound(key)) {
    return;
  }
  const bool counted = finished && above_bound(key);
  auto [it, inserted] = ordered_.insert_or_assign(key, std::move(entry));
  by_id_[it->second->id] = it;
  if (counted) {
    ++finished_above_;
  }
}

void JobView::trim(domain::TimestampMs now) {
  // From the oldest job above the bound up: past the count, and while the oldest is one that the
  // retention sweep may delete (a list reaching it would have to ask the database).
  for (;;) {
    auto it = bound_ ? ordered_.upper_bound(*bound_) : ordered_.begin();
    if (it == ordered_.end() || (finished_above_ <= keep_ && !expired(*it->second, now))) {
      return;
    }
    bound_ = it->first;
    if (domain::is_finished(it->second->status)) {
      --finished_above_;
      by_id_.erase(it->second->id);
      ordered_.erase(it);
    }
    // An active job stays held, now at the bound: lookups find it, lists stop above it.
  }
}

JobView::Lookup JobView::find(std::string_view id, domain::TimestampMs now) const {
  std::shared_lock lock(mutex_);
  // Heterogeneous lookup is C++20 only with a transparent hash; one short string is cheap.
  const auto found = by_id_.find(std::string(id));
  if (found == by_id_.end()) {
    return {bound_ ? Presence::unknown : Presence::absent, nullptr};
  }
  const auto& entry = found->second->second;
  if (expired(*entry, now)) {
    return {Presence::unknown, nullptr};
  }
  return {Presence::held, entry};
}

std::optional<JobView::Page> JobView::list(const store::JobQuery& q, domain::TimestampMs now) const {
  const auto matches = [&q](const Entry& e) {
    if (q.visible_to && (e.scope != domain::JobScope::user || e.scope_user_id != *q.visible_to)) {
      return false;  // domain/job_access.hpp, as the list's SQL
    }
    if (q.user_id && e.user_id != *q.user_id && e.scope_user_id != *q.user_id) {
      return false;
    }
    if ((q.status && e.status != *q.status) || (q.type && e.type != *q.type)) {
      return false;
    }
    return (!q.from || e.created_at >= *q.from) && (!q.to || e.created_at < *q.to);
  };
  Page page;
  std::shared_lock lock(mutex_);
  auto it = q.before ? ordered_.lower_bound(Key(q.before->first, q.before->second)) : ordered_.end();
  while (it != ordered_.begin()) {
    --it;
    if (!above_bound(it->first)) {
      break;
    }
    if (!matches(*it->second)) {
      continue;
    }
    if (expired(*it->second, now)) {
      return std::nullopt;  // the sweep may have deleted it: the database says
    }
    if (page.items.size() == q.limit) {
      page.has_more = true;
      return page;
    }
    page.items.push_back(it->second);
  }
  // Every held job above the bound was seen. The page is decided when nothing lies below it, or
  // when the range starts above it (what lies below was created no later than the bound).
  if (!bound_ || (q.from && *q.from > bound_->first)) {
    return page;
  }
  return std::nullopt;
}

std::size_t JobView::size() const {
  std::shared_lock lock(mutex_);
  return ordered_.size();
}

}  // namespace mladmin::api
