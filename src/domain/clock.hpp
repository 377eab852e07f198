#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mladmin::domain {

/// Milliseconds since the Unix epoch, UTC. Every stored timestamp is one.
using TimestampMs = std::int64_t;

/// Wall clock, injectable so that tests can be deterministic. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimestampMs now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimestampMs now_ms() const override;
};

/// "2026-11-26T02:49:13.123Z".
std::string format_iso8601(TimestampMs ms);

/// Accepts "2026-11-26", "2026-11-26T02:49:13Z", "2026-11-26T02:49:13.123Z" and numeric
/// offsets ("+02:00"); nullopt for anything else.
std::optional<TimestampMs> parse_iso8601(std::string_view text);

}  // namespace mladmin::domain
