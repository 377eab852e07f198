#include "accounts/rights_cache.hpp"

namespace mladmin::accounts {

namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void RightsCache::check_version() {
  const std::int64_t now = steady_ns();
  std::int64_t due = next_check_ns_.load(std::memory_order_relaxed);
  if (now < due || !next_check_ns_.compare_exchange_strong(due, now + check_interval_ns_)) {
    return;  // checked less than an interval ago, or another thread is checking now
  }
  std::uint64_t version = 0;
  try {
    version = store_.rights_version();
  } catch (...) {
    next_check_ns_.store(0);  // not checked: the next lookup tries again
    throw;
  }
  checks_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  if (seen_version_ != version) {
    empty_locked();
    seen_version_ = version;
  }
}

std::optional<UserRights> RightsCache::find(std::string_view id) {
  // Before the cache and before any read below: a change that this check sees empties the cache
  // first, and one committed after it is seen by a later check.
  check_version();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto it = users_.find(id); it != users_.end()) {
      return it->second;
    }
    generation = generation_;
  }
  user_reads_.fetch_add(1, std::memory_order_relaxed);
  const auto user = store_.read_value([&](store::Reader& r) { return r.find_user(id); });
  if (!user) {
    return std::nullopt;
  }
  UserRights rights{user->id, user->email, user->role, user->status, user->token_version};
  std::lock_guard lock(mutex_);
  if (generation == generation_) {
    if (users_.size() >= kMaxUsers) {
      users_.clear();
      ++emptied_;
    }
    users_.emplace(rights.id, rights);
  }
  return rights;
}

std::optional<UserRights> RightsCache::find_cached(std::string_view id) {
  check_version();
  std::lock_guard lock(mutex_);
  if (auto it = users_.find(id); it != users_.end()) {
    return it->second;
  }
  return std::nullopt;
}

void RightsCache::empty_locked() {
  users_.clear();
  ++generation_;
  ++emptied_;
}

void RightsCache::invalidate() {
  std::lock_guard lock(mutex_);
  empty_locked();
}

RightsCache::Stats RightsCache::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{emptied_, user_reads_.load(std::memory_order_relaxed),
               checks_.load(std::memory_order_relaxed)};
}

}  // namespace mladmin::accounts
