#pragma once

#include <string_view>

namespace mladmin::util {

/// Names the calling thread, as `top -H`, `ps -L`, perf and gdb show it (the kernel keeps 15
/// bytes of it), and lowers its scheduling priority to `nice` (1-19; 0 or less leaves it). On
/// Linux a nice value belongs to the thread, not the process, and the threads it starts inherit
/// it. The sync's bulk work runs so (`[sync] nice`, docs/performance.md, "The sync yields the
/// cores"): when a request or an event's delivery wants a core, the kernel gives it one first.
/// Raising a priority needs privileges that the server does not ask for: values below the
/// thread's current one are left alone. Both are hints: a failure is ignored.
void name_and_lower_this_thread(std::string_view name, int nice);

/// The calling thread's nice value (for tests and logs).
int this_thread_nice();

}  // namespace mladmin::util
