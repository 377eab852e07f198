#include "accounts/rights_cache.hpp"

namespace mladmin::accounts {

std::optional<UserRights> RightsCache::find(std::string_view id) {
  // Asked before the cache and before any read below: a commit that lands after this call is
  // seen by the next lookup, which empties the cache then.
  const std::uint64_t version = store_.data_version();
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto hit = cached_locked(id, version)) {
      return hit;
    }
    generation = generation_;
  }
  const auto user = store_.read_value([&](store::Reader& r) { return r.find_user(id); });
  if (!user) {
    return std::nullopt;
  }
  UserRights rights{user->id, user->email, user->role, user->status, user->token_version};
  std::lock_guard lock(mutex_);
  if (generation == generation_) {
    if (users_.size() >= kMaxUsers) {
      users_.clear();
    }
    users_.emplace(rights.id, rights);
  }
  return rights;
}

std::optional<UserRights> RightsCache::find_cached(std::string_view id) {
  const std::uint64_t version = store_.data_version();
  std::lock_guard lock(mutex_);
  return cached_locked(id, version);
}

std::optional<UserRights> RightsCache::cached_locked(std::string_view id, std::uint64_t version) {
  if (seen_version_ != version) {
    users_.clear();
    ++generation_;
    seen_version_ = version;
    return std::nullopt;
  }
  if (auto it = users_.find(std::string(id)); it != users_.end()) {
    return it->second;
  }
  return std::nullopt;
}

void RightsCache::invalidate() {
  std::lock_guard lock(mutex_);
  users_.clear();
  ++generation_;
}

}  // namespace mladmin::accounts
