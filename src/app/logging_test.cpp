// The unit tests' process makes spdlog's registry (and its default logger) on the main thread,
// before any test starts a thread, as `mladmin` does: run_cli calls app::init_logging before any
// command starts one. Without this, the first two threads of a test to log (two sync workers,
// say) both reach spdlog's registry, a function-local static inside the uninstrumented
// libspdlog.so, and one of them constructs it. C++ makes that safe, but ThreadSanitizer does not
// see the acquire of the static's guard on the fast path compiled into the library, so it
// reports a data race between the registry's constructor and the other thread's first
// `should_log` (seen in EngineTest under `make test-tsan`; docs/fuzzing.md "ThreadSanitizer").
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <thread>

namespace mladmin::app {
namespace {

/// The thread that made the default logger: static initialization runs on the main thread,
/// before gtest's main starts any test.
const std::thread::id kLoggerMadeBy = [] {
  spdlog::default_logger_raw();
  return std::this_thread::get_id();
}();

TEST(UnitTestProcessTest, TheDefaultLoggerIsMadeOnTheMainThreadBeforeAnyTestRuns) {
  ASSERT_NE(spdlog::default_logger_raw(), nullptr);
  // Tests run on the main thread too.
  EXPECT_EQ(kLoggerMadeBy, std::this_thread::get_id());
}

}  // namespace
}  // namespace mladmin::app
