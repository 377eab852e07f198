#include "client/job_tracker.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace mladmin::client {

namespace {

/// Jobs remembered before finished ones are forgotten, so that `jobs --follow` left running for
/// weeks stays small.
constexpr std::size_t kRemembered = 4096;

bool finished_status(const std::string& s) {
  return s == "completed" || s == "failed" || s == "cancelled";
}

}  // namespace

std::vector<JobView> JobTracker::apply(const SseEvent& event) {
  std::vector<JobView> out;
  if (event.type != "job" && event.type != "snapshot") {
    return out;
  }
  boost::system::error_code ec;
  const auto json = boost::json::parse(event.data, ec);
  if (ec) {
    ++unreadable_;
    last_problem_ = "a " + event.type + " event is not JSON (" + ec.message() + ")";
    return out;
  }
  if (event.type == "job") {
    std::string problem;
    auto job = parse_job(json, &problem);
    if (!job) {
      ++unreadable_;
      last_problem_ = "a job event is not a job: " + problem;
    } else if (news(*job)) {
      out.push_back(std::move(*job));
    }
    return out;
  }
  const bool first = snapshots_ == 0;
  ++snapshots_;
  last_snapshot_.clear();
  for (auto& job : parse_snapshot(json)) {
    last_snapshot_.push_back(job.id);
    const bool known = known_.contains(job.id);
    if (news(job) && !(first && !known && is_finished(job))) {
      out.push_back(std::move(job));
    }
  }
  return out;
}

std::optional<JobView> JobTracker::apply(const JobView& job) {
  if (!news(job)) {
    return std::nullopt;
  }
  return job;
}

bool JobTracker::snapshot_has(const std::string& id) const {
  return std::find(last_snapshot_.begin(), last_snapshot_.end(), id) != last_snapshot_.end();
}

bool JobTracker::news(const JobView& job) {
  auto [it, fresh] = known_.try_emplace(job.id);
  auto& k = it->second;
  if (!fresh) {
    // ISO 8601 times of one format compare as text.
    if (!job.updated_at.empty() && job.updated_at < k.updated_at) {
      return false;
    }
    if (job.status == k.status && job.updated_at == k.updated_at && job.processed_items == k.processed &&
        job.total_items == k.total) {
      return false;
    }
  }
  k = {job.status, job.updated_at, job.processed_items, job.total_items};
  if (known_.size() > kRemembered) {
    forget_finished();
  }
  return true;
}

void JobTracker::forget_finished() {
  std::erase_if(known_, [](const auto& entry) { return finished_status(entry.second.status); });
}

}  // namespace mladmin::client
