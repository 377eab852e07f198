#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "client/job_view.hpp"

namespace mladmin::client {

/// Shows jobs as they change: one line per job, redrawn in place on a terminal, or plain log lines
/// for pipes and files. Not thread-safe: one thread calls it. Time comes in as arguments so that
/// tests decide it.
class Display {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Display() = default;

  /// A job's latest state. A status change shows at once; progress is throttled (terminal: 10
  /// redraws a second; plain: one line per job a second). A finished job gets its final line and
  /// its first item errors, and leaves the live lines.
  virtual void update(const JobView& job, Clock::time_point now) = 0;
  /// Shows throttled progress whose time has come; call it every 100 ms or so.
  virtual void tick(Clock::time_point now) = 0;
  /// A message of its own (the stream dropped, …): above the live lines on a terminal, on the
  /// error stream otherwise.
  virtual void note(const std::string& text) = 0;
  /// Ends the live lines so that whatever is printed next starts on a fresh line.
  virtual void close() = 0;
};

struct DisplayOptions {
  std::size_t max_item_errors = 5;     ///< item errors shown under a finished job
  bool show_id = false;                ///< terminal lines carry the short job id
  bool ascii = false;                  ///< terminal bar without UTF-8 blocks
  std::function<std::size_t()> width;  ///< terminal columns now (default 80)
  /// Terminal rows now (default 24): live lines beyond the screen become one "… N more" line,
  /// since the cursor cannot go back up past the top.
  std::function<std::size_t()> height;
  std::function<std::string()> timestamp;       ///< plain lines' time (default: UTC now, seconds)
  std::chrono::milliseconds redraw{100};        ///< terminal: at most one redraw this often
  std::chrono::milliseconds plain_every{1000};  ///< plain: at most one progress line per job this often
};

/// Redraws the live lines in place with `\r` and ANSI sequences (cursor up, clear to the end).
std::unique_ptr<Display> make_terminal_display(std::ostream& out, DisplayOptions options);
/// One line per status change and at most one progress line per job and interval, to `out`;
/// notes go to `err`.
std::unique_ptr<Display> make_plain_display(std::ostream& out, std::ostream& err, DisplayOptions options);

/// The current UTC time as `2026-11-26T06:00:00Z`.
std::string utc_timestamp_now();

}  // namespace mladmin::client
