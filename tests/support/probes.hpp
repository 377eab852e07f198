#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace mladmin::test {

// What a test reads of a running server from outside: its memory, its metrics.

/// The resident set of a process in bytes (VmRSS of /proc/PID/status), and its peak (VmHWM).
std::size_t resident_bytes(pid_t pid);
std::size_t peak_resident_bytes(pid_t pid);
/// Sets the peak resident set of a process to its resident set now (writes 5 to
/// /proc/PID/clear_refs), so that a later peak_resident_bytes() covers only what followed.
/// False when the kernel refuses.
bool reset_peak_resident(pid_t pid);

/// The environment's ASAN_OPTIONS plus a quarantine of 8 MiB, for a server whose memory a test
/// measures: under AddressSanitizer freed memory sits in a quarantine of up to 256 MiB before it is
/// reused, so that every allocation made meanwhile would count as resident; a small quarantine keeps
/// the measure about what the server holds, as it would be without the sanitizer.
std::string asan_options_with_small_quarantine();

/// The value of the sample `series` (name and labels exactly as exposed) in a Prometheus text
/// exposition (GET /metrics), if present.
std::optional<double> metric_sample(const std::string& text, const std::string& series);

}  // namespace mladmin::test
