#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/job_view.hpp"

namespace mladmin::client {

/// 1234567 → "1,234,567"; negative numbers keep their sign.
std::string format_count(std::int64_t n);
/// Whole seconds for an ETA: "0s", "42s", "4m 05s", "2h 03m", "3d 04h".
std::string format_seconds(std::int64_t seconds);
/// A duration: "0.4s" and "9.9s" under ten seconds, then as format_seconds ("42s", "4m 05s", …).
std::string format_duration_ms(std::int64_t ms);
/// "3,120 items/s"; one decimal under 10 ("4.5 items/s").
std::string format_rate(double items_per_second);
/// The last 8 characters of a job id: the random end of a UUIDv7, which tells jobs apart (its
/// start is a timestamp that jobs started together share).
std::string short_id(std::string_view id);

/// Terminal cells `text` takes: its code points (what this renderer writes is one cell each).
std::size_t display_width(std::string_view utf8);
/// `text` cut to at most `cells` code points, never inside a UTF-8 sequence.
std::string truncate_to_width(std::string_view utf8, std::size_t cells);

/// A bar of `cells` cells, the first `fraction` of them filled: "██████░░░░" (ASCII: "######----").
std::string progress_bar(double fraction, std::size_t cells, bool ascii = false);

struct LineStyle {
  std::size_t width = 80;  ///< terminal columns; the line takes at most width - 1
  bool show_id = false;    ///< add the job's short id (several jobs on screen)
  bool ascii = false;      ///< '#' and '-' for terminals without UTF-8
};

/// One terminal line for a job, e.g.
/// `journal_entries  [██████████░░░░░░░░░░]  52%  5,200/10,000  synced 5,100  skipped 50  failed 50
///  3,120 items/s  ETA 2s  running`; a finished job ends with `completed in 3.2s`. When the width is
/// short the least useful fields go (the rate first), the bar narrows, more fields go (the smaller
/// of skipped and synced, then the other, ETA, the bar itself, …), and last the line is cut.
std::string render_line(const JobView& job, const LineStyle& style);

/// A line for logs and pipes: `TIMESTAMP job ID TYPE STATUS 52% 5200/10000 synced=5100 skipped=50
/// failed=50`, plus `rate=… eta=…` while running, `duration=…` once finished and `reason="…"` for a
/// failed job.
std::string render_plain_line(const JobView& job, std::string_view timestamp);

/// The item errors a finished job carries, at most `max` of them, then how many more there are
/// and where to read them all; empty without errors. `plain` gives log lines (without timestamp).
std::vector<std::string> render_item_errors(const JobView& job, std::size_t max, bool plain);

/// The job list as a table with a header row: id, type, status, progress, items, counters, when
/// it was created and how long it ran. Numbers are right-aligned.
std::string render_job_table(const std::vector<JobView>& jobs);

}  // namespace mladmin::client
