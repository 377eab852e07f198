#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mladmin::auth {

/// Counts login failures per email and per client address in a sliding window (docs/security.md:
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

/// At most `limit` events per key in a sliding `window`: sync starts per user (docs/security.md).
/// Memory is bounded by `max_keys` (idle keys are forgotten first). Thread-safe.
class WindowLimiter final {
 public:
  using TimeMs = std::int64_t;
  WindowLimiter(int limit, std::chrono::seconds window, std::size_t max_keys = 100000);

  /// Counts an event of `key` unless the key is at its limit; a refusal says in how many seconds
  /// one fits.
  LoginRateLimiter::Decision take(std::string_view key, TimeMs now);

 private:
  int limit_;
  TimeMs window_ms_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<TimeMs>> times_;
};

/// The proxies whose X-Forwarded-For and Forwarded headers are believed (`[server]
/// trusted_proxies`, docs/security.md): addresses and CIDRs, IPv4 and IPv6.
class TrustedProxies final {
 public:
  TrustedProxies() = default;
  /// Throws std::invalid_argument naming the first entry that is no address or CIDR.
  explicit TrustedProxies(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  bool contains(std::string_view address) const;

  /// The client's address: `remote` when it is not a trusted proxy; otherwise the rightmost hop
  /// of `forwarded` (RFC 7239 `for=`), or else of `x_forwarded_for`, that is not a trusted proxy
  /// (the leftmost hop when all are). A hop that is no address ("unknown", an obfuscated name)
  /// stops the walk at the last address believed.
  std::string client_address(std::string_view remote, std::optional<std::string_view> forwarded,
                             std::optional<std::string_view> x_forwarded_for) const;

 private:
  struct Net {
    std::array<unsigned char, 16> bytes{};  ///< IPv4 as IPv4-mapped IPv6
    int prefix = 128;
  };
  std::vector<Net> nets_;
};

/// The key of a client address in the login limiter: an IPv6 address by its /64 (one site's
/// clients, which can pick any of 2^64 addresses, share one count), an IPv4-mapped IPv6 address
/// as the IPv4 one; anything else as given.
std::string address_key(std::string_view address);

}  // namespace mladmin::auth
