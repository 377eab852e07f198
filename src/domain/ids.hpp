#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "domain/clock.hpp"

namespace mladmin::domain {

/// Makes unique, time-ordered identifiers. Implementations are thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual std::string next() = 0;
};

/// UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a counter seeded at random for ids made
/// in the same millisecond, then random bits. Ids sort by creation time as strings, and two ids
/// made in one millisecond still differ and still sort in creation order.
class UuidV7Generator final : public IdGenerator {
 public:
  explicit UuidV7Generator(const Clock& clock) : clock_(clock) {}
  std::string next() override;

 private:
  const Clock& clock_;
  std::mutex mutex_;
  TimestampMs last_ms_ = 0;
  std::uint64_t counter_ = 0;  // 12-bit rand_a field
};

/// True for the canonical 36-character lowercase form.
bool looks_like_uuid(std::string_view text);

}  // namespace mladmin::domain
