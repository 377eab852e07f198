#include "support/job_watcher.hpp"

#include <boost/json/serialize.hpp>

#include "support/job_json.hpp"

namespace mladmin::test {

namespace json = boost::json;

JobWatcher::JobWatcher(unsigned short port, const std::string& token) : stream_(port, token) {
  const int status = stream_.status();
  EXPECT_EQ(status, 200) << "GET /api/ml/sync/events: " << stream_.body();
  if (status == 200) {
    EXPECT_TRUE(stream_.wait_for([](const auto& events) { return !events.empty(); }))
        << "the event stream sent nothing";
  }
}

void JobWatcher::ingest(const std::vector<SseEvent>& events) {
  for (; ingested_ < events.size(); ++ingested_) {
    const auto& e = events[ingested_];
    if (e.event != "job" && e.event != "snapshot") {
      continue;
    }
    const auto v = e.json();
    if (!v.is_object()) {
      continue;
    }
    if (e.event == "job") {
      if (const auto* id = v.as_object().if_contains("id"); id != nullptr && id->is_string()) {
        states_[std::string(id->as_string())].push_back(v);
      }
      continue;
    }
    const auto* jobs = v.as_object().if_contains("jobs");
    if (jobs == nullptr || !jobs->is_array()) {
      continue;
    }
    for (const auto& j : jobs->as_array()) {
      if (j.is_object() && j.as_object().contains("id") && j.at("id").is_string()) {
        states_[std::string(j.at("id").as_string())].push_back(j);
      }
    }
  }
}

json::value JobWatcher::wait_for_job(const std::string& id, const JobPredicate& pred,
                                     std::chrono::milliseconds deadline, const std::string& what) {
  json::value found;
  const bool ok = stream_.wait_for(
      [&](const std::vector<SseEvent>& events) {
        ingest(events);
        auto& seen = states_[id];
        auto& next = consumed_[id];
        for (; next < seen.size(); ++next) {
          const auto& job = seen[next];
          if (!reported_[id]) {
            if (auto counts = counts_add_up(job); !counts) {
              ADD_FAILURE() << "job " << id << ": " << counts.message();
              reported_[id] = true;  // one report is enough
            }
          }
          if (pred(job)) {
            found = job;
            ++next;
            return true;
          }
        }
        return false;
      },
      deadline);
  if (!ok) {
    const auto all = states(id);
    ADD_FAILURE() << "job " << id << " did not reach " << what << " in time; last seen "
                  << (all.empty() ? std::string("nothing") : json::serialize(all.back()))
                  << (stream_.ended() ? " (the event stream ended)" : "");
  }
  return found;
}

json::value JobWatcher::wait_finished(const std::string& id, std::chrono::milliseconds deadline) {
  return wait_for_job(id, finished, deadline, "a finished state");
}

json::value JobWatcher::wait_midway(const std::string& id, double min_fraction,
                                    std::chrono::milliseconds deadline) {
  return wait_for_job(
      id,
      [&](const json::value& j) {
        const auto processed = num(j, "processedItems");
        const auto total = num(j, "totalItems");
        return finished(j) || (str(j, "status") == "running" && processed > 0 && processed < total &&
                               static_cast<double>(processed) >= min_fraction * static_cast<double>(total));
      },
      deadline, "running mid-way");
}

std::vector<json::value> JobWatcher::states(const std::string& id) {
  stream_.wait_for(
      [&](const std::vector<SseEvent>& events) {
        ingest(events);
        return true;
      },
      std::chrono::milliseconds(0));
  auto it = states_.find(id);
  return it == states_.end() ? std::vector<json::value>{} : it->second;
}

::testing::AssertionResult JobWatcher::counts_add_up_in_every_state(const std::string& id) {
  const auto all = states(id);
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (auto ok = counts_add_up(all[i]); !ok) {
      return ::testing::AssertionFailure() << "state " << i << " of " << all.size() << ": " << ok.message();
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mladmin::test
