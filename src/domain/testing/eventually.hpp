#pragma once

#include <chrono>
#include <thread>

namespace mladmin::domain {

/// Checks `condition` until it holds or `deadline` passes; answers whether it held (docs/testing.md,
/// "Waiting"). For a state that no event announces and that the test can only look at: a row a
/// background thread deletes, a line in a log, a count of descriptors or of open streams. The pause
/// between two looks is not a wait for anything: the deadline bounds the wait, the condition ends it.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace mladmin::domain
