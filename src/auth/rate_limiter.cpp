#include "auth/rate_limiter.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <vector>

namespace mladmin::auth {
namespace {

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

}  // namespace

LoginRateLimiter::LoginRateLimiter(Limits limits) : limits_(limits) {
  assert(limits_.per_email > 0 && limits_.per_address > 0);
  assert(limits_.window.count() > 0 && limits_.max_keys > 0);
}

LoginRateLimiter::Decision LoginRateLimiter::begin_attempt(std::string_view email, std::string_view address,
                                                           TimeMs now) {
  const std::string email_key = ascii_lower(email);
  const std::string address_key(address);
  const TimeMs window_ms = std::chrono::milliseconds(limits_.window).count();

  std::lock_guard lock(mutex_);
  ++tick_;
  int retry_after = 0;
  auto check = [&](Map& map, const std::string& key, int limit) {
    const auto it = map.find(key);
    if (it == map.end()) {
      return;
    }
    Entry& entry = it->second;
    entry.last_used = tick_;  // a refused key is still in use: keep it over idle ones
    prune(entry, now);
    const auto count = entry.times.size();
    const auto max = static_cast<std::size_t>(limit);
    if (count < max) {
      return;
    }
    // Another attempt fits once the count drops below the limit, i.e. when this one leaves the
    // window (the oldest one when, as usual, the count is exactly at the limit).
    const TimeMs frees_at = entry.times[count - max] + window_ms;
    const TimeMs seconds = (frees_at - now + 999) / 1000;
    retry_after = std::max(retry_after,
                           static_cast<int>(std::clamp<TimeMs>(seconds, 1, std::numeric_limits<int>::max())));
  };
  check(by_email_, email_key, limits_.per_email);
  check(by_address_, address_key, limits_.per_address);
  if (retry_after > 0) {
    return Decision{false, retry_after};
  }

  for (auto [map, key] : {std::pair{&by_email_, &email_key}, std::pair{&by_address_, &address_key}}) {
    Entry& entry = (*map)[*key];
    // Callers' clocks may step back; keeping the times sorted keeps prune() correct.
    entry.times.insert(std::upper_bound(entry.times.begin(), entry.times.end(), now), now);
    entry.last_used = tick_;
    evict_if_needed(*map);
  }
  return Decision{true, 0};
}

void LoginRateLimiter::succeeded(std::string_view email, std::string_view address, TimeMs started) {
  const std::string email_key = ascii_lower(email);
  const std::string address_key(address);
  std::lock_guard lock(mutex_);
  by_email_.erase(email_key);
  uncount(by_address_, address_key, started);
}

void LoginRateLimiter::abandoned(std::string_view email, std::string_view address, TimeMs started) {
  const std::string email_key = ascii_lower(email);
  const std::string address_key(address);
  std::lock_guard lock(mutex_);
  uncount(by_email_, email_key, started);
  uncount(by_address_, address_key, started);
}

void LoginRateLimiter::prune(Entry& entry, TimeMs now) const {
  const TimeMs window_ms = std::chrono::milliseconds(limits_.window).count();
  while (!entry.times.empty() && entry.times.front() + window_ms <= now) {
    entry.times.pop_front();
  }
}

void LoginRateLimiter::uncount(Map& map, const std::string& key, TimeMs started) {
  const auto it = map.find(key);
  if (it == map.end()) {
    return;  // forgotten or already out of the window: nothing left to take back
  }
  auto& times = it->second.times;
  // The attempt is usually the newest, so search from the back.
  const auto found = std::find(times.rbegin(), times.rend(), started);
  if (found != times.rend()) {
    times.erase(std::next(found).base());
  }
  if (times.empty()) {
    map.erase(it);
  }
}

void LoginRateLimiter::evict_if_needed(Map& map) {
  if (map.size() <= limits_.max_keys) {
    return;
  }
  // Finding the least recently used key is a scan of the whole map, so a flood of new keys would
  // pay it on every attempt. Forgetting a further 1/64 of max_keys (the next least recently used)
  // makes the scan happen once per that many new keys instead.
  const std::size_t evict = std::min(map.size() - 1, map.size() - limits_.max_keys + limits_.max_keys / 64);
  std::vector<std::uint64_t> ticks;
  ticks.reserve(map.size());
  for (const auto& [key, entry] : map) {
    ticks.push_back(entry.last_used);
  }
  std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(evict - 1), ticks.end());
  // Within one map every attempt touches a single key, so ticks are unique and exactly `evict`
  // entries are at or below the cut.
  const std::uint64_t cut = ticks[evict - 1];
  std::erase_if(map, [cut](const auto& item) { return item.second.last_used <= cut; });
}

}  // namespace mladmin::auth
