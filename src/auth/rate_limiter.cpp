#include "auth/rate_limiter.hpp"
#include "util/text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>
#include <limits>
#include <stdexcept>
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

// --- WindowLimiter ---------------------------------------------------------------------------

WindowLimiter::WindowLimiter(int limit, std::chrono::seconds window, std::size_t max_keys)
    : limit_(limit), window_ms_(std::chrono::milliseconds(window).count()), max_keys_(max_keys) {
  assert(limit_ > 0 && window_ms_ > 0 && max_keys_ > 0);
}

LoginRateLimiter::Decision WindowLimiter::take(std::string_view key, TimeMs now) {
  std::lock_guard lock(mutex_);
  auto& times = times_[std::string(key)];
  while (!times.empty() && times.front() + window_ms_ <= now) {
    times.pop_front();
  }
  const auto max = static_cast<std::size_t>(limit_);
  if (times.size() >= max) {
    const TimeMs frees_at = times[times.size() - max] + window_ms_;
    const TimeMs seconds =
        std::clamp<TimeMs>((frees_at - now + 999) / 1000, 1, std::numeric_limits<int>::max());
    return {false, static_cast<int>(seconds)};
  }
  times.insert(std::upper_bound(times.begin(), times.end(), now), now);
  if (times_.size() > max_keys_) {
    // Forget the keys with nothing left in the window; keys are users, so this is rare.
    std::erase_if(times_,
                  [&](auto& kv) { return kv.second.empty() || kv.second.back() + window_ms_ <= now; });
  }
  return {true, 0};
}

// --- Client addresses behind proxies -------------------------------------------------------------

namespace {

using Bytes = std::array<unsigned char, 16>;

/// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped), or nullopt. A zone ("%eth0") is ignored.
std::optional<Bytes> parse_ip(std::string_view text) {
  std::string s(text.substr(0, text.find('%')));
  Bytes out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool is_v4_mapped(const Bytes& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0) {
      return false;
    }
  }
  return b[10] == 0xff && b[11] == 0xff;
}

bool in_net(const Bytes& address, const Bytes& net, int prefix) {
  int i = 0;
  for (; prefix >= 8; prefix -= 8, ++i) {
    if (address[i] != net[i]) {
      return false;
    }
  }
  if (prefix > 0) {
    const auto mask = static_cast<unsigned char>(0xff << (8 - prefix));
    return (address[i] & mask) == (net[i] & mask);
  }
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(util::trim_ows(s.substr(0, at)));
    if (at == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(at + 1);
  }
}

/// A hop as a proxy writes it: "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "2001:db8::1", or
/// quoted; the bare address, or "" when it is none.
std::string hop_address(std::string_view hop) {
  if (hop.size() >= 2 && hop.front() == '"' && hop.back() == '"') {
    hop = hop.substr(1, hop.size() - 2);
  }
  if (!hop.empty() && hop.front() == '[') {
    const auto close = hop.find(']');
    hop = close == std::string_view::npos ? std::string_view() : hop.substr(1, close - 1);
  } else if (std::count(hop.begin(), hop.end(), ':') == 1) {
    hop = hop.substr(0, hop.find(':'));  // IPv4 with a port
  }
  return parse_ip(hop) ? std::string(hop) : std::string();
}

/// The `for=` values of a Forwarded header, in order.
std::vector<std::string_view> forwarded_for(std::string_view header) {
  std::vector<std::string_view> out;
  for (auto element : split(header, ',')) {
    std::string_view value;  // empty: this element names no client
    for (auto pair : split(element, ';')) {
      if (pair.size() > 4 && (pair[0] | 0x20) == 'f' && (pair[1] | 0x20) == 'o' && (pair[2] | 0x20) == 'r' &&
          pair[3] == '=') {
        value = pair.substr(4);
      }
    }
    out.push_back(value);
  }
  return out;
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    const auto slash = entry.find('/');
    const auto ip = parse_ip(std::string_view(entry).substr(0, slash));
    const bool v4 = ip && is_v4_mapped(*ip) && entry.find(':') == std::string::npos;
    int prefix = v4 ? 32 : 128;
    bool ok = ip.has_value();
    if (ok && slash != std::string::npos) {
      const auto text = std::string_view(entry).substr(slash + 1);
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), prefix);
      ok = ec == std::errc() && end == text.data() + text.size() && !text.empty() && prefix >= 0 &&
           prefix <= (v4 ? 32 : 128);
    }
    if (!ok) {
      throw std::invalid_argument("'" + entry +
                                  "' is not an IP address or CIDR (such as 10.0.0.1, 10.0.0.0/8, fd00::/8)");
    }
    nets_.push_back(Net{*ip, v4 ? prefix + 96 : prefix});
  }
}

bool TrustedProxies::contains(std::string_view address) const {
  const auto ip = parse_ip(address);
  if (!ip) {
    return false;
  }
  return std::any_of(nets_.begin(), nets_.end(),
                     [&](const Net& n) { return in_net(*ip, n.bytes, n.prefix); });
}

std::string TrustedProxies::client_address(std::string_view remote, std::optional<std::string_view> forwarded,
                                           std::optional<std::string_view> x_forwarded_for) const {
  if (!contains(remote)) {
    return std::string(remote);
  }
  std::vector<std::string_view> hops;
  if (forwarded && !util::trim_ows(*forwarded).empty()) {
    hops = forwarded_for(*forwarded);
  } else if (x_forwarded_for && !util::trim_ows(*x_forwarded_for).empty()) {
    hops = split(*x_forwarded_for, ',');
  }
  std::string believed(remote);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto hop = hop_address(*it);
    if (hop.empty()) {
      break;  // written by someone we cannot tell apart: keep the last address believed
    }
    believed = std::move(hop);
    if (!contains(believed)) {
      break;
    }
  }
  return believed;
}

std::string address_key(std::string_view address) {
  const auto ip = parse_ip(address);
  if (!ip) {
    return std::string(address);
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4_mapped(*ip)) {
    ::inet_ntop(AF_INET, ip->data() + 12, text, sizeof text);
    return text;
  }
  Bytes net = *ip;
  std::fill(net.begin() + 8, net.end(), 0);
  ::inet_ntop(AF_INET6, net.data(), text, sizeof text);
  return std::string(text) + "/64";
}

}  // namespace mladmin::auth
