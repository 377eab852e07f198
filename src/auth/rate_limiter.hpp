#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mladmin::auth {

/// Counts login failures per email and per client address in a sliding window (SPEC §6:
/// 10 per email or 50 per address in 15 minutes). An attempt is counted when it starts, so that
/// a thousand concurrent attempts cannot all slip in before the first one fails; a successful
/// attempt takes its count back and clears the email's failures. Memory is bounded by
/// `max_keys` (the least recently used key is forgotten first). Thread-safe.
class LoginRateLimiter final {
 public:
  struct Limits {
    int per_email = 10;
    int per_address = 50;
    std::chrono::seconds window{900};
    std::size_t max_keys = 100000;
  };
  using TimeMs = std::int64_t;

  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;  ///< when refused: until the oldest counted attempt leaves the window
  };

  explicit LoginRateLimiter(Limits limits);

  /// Refuses when either key is at its limit; otherwise counts the attempt against both.
  /// `email` is compared case-insensitively.
  Decision begin_attempt(std::string_view email, std::string_view address, TimeMs now);

  /// The attempt begun at `started` succeeded: uncount it, and forget the email's failures.
  void succeeded(std::string_view email, std::string_view address, TimeMs started);

  /// The attempt begun at `started` was never judged (the hashing pool was full): uncount it.
  void abandoned(std::string_view email, std::string_view address, TimeMs started);

 private:
  struct Entry {
    std::deque<TimeMs> times;
    std::uint64_t last_used = 0;
  };
  using Map = std::unordered_map<std::string, Entry>;

  void prune(Entry& entry, TimeMs now) const;
  void uncount(Map& map, const std::string& key, TimeMs started);
  void evict_if_needed(Map& map);

  Limits limits_;
  std::mutex mutex_;
  Map by_email_;
  Map by_address_;
  std::uint64_t tick_ = 0;
};

}  // namespace mladmin::auth
