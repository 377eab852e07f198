#pragma once

#include <atomic>

#include "domain/clock.hpp"

namespace mladmin::domain {

/// The clock of unit tests: it answers `now`, which only the test moves (`clock.now = …`,
/// `clock.now += …`). Atomic, so that a thread of the code under test may read it meanwhile.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimestampMs start = 1'750'000'000'000) : now(start) {}
  TimestampMs now_ms() const override { return now.load(); }

  std::atomic<TimestampMs> now;
};

}  // namespace mladmin::domain
