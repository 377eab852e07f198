#include "client/progress.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "client/text.hpp"

namespace mladmin::client {

namespace {

constexpr std::size_t kTypeColumn = 15;  // "journal_entries"
constexpr std::size_t kWideBar = 20;
constexpr std::size_t kNarrowBar = 10;
constexpr int kNarrowBarKeep = 15;  // between dropping the rate and dropping anything else
constexpr std::string_view kSeparator = "  ";

std::string two_digits(std::int64_t n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(n % 100));
  return buf;
}

std::string pad_right(std::string text, std::size_t cells) {
  const auto w = display_width(text);
  if (w < cells) {
    text.append(cells - w, ' ');
  }
  return text;
}

std::string pad_left(std::string text, std::size_t cells) {
  const auto w = display_width(text);
  if (w < cells) {
    text.insert(0, cells - w, ' ');
  }
  return text;
}

/// Where the bar stands: items over total, full for a finished job with nothing to do.
double fraction_done(const JobView& job) {
  if (job.total_items <= 0) {
    return job.status == "completed" ? 1.0 : 0.0;
  }
  return std::clamp(static_cast<double>(job.processed_items) / static_cast<double>(job.total_items), 0.0,
                    1.0);
}

std::string status_text(const JobView& job) {
  std::string out = job.status;
  const bool finished = is_finished(job);
  if (finished && job.duration) {
    out += job.status == "completed" ? " in " : " after ";
    out += format_duration_ms(*job.duration);
  }
  if (job.status == "failed" && job.failure_reason && !job.failure_reason->empty()) {
    out += ": ";
    out += *job.failure_reason;
  }
  return out;
}

/// A piece of the terminal line; the lowest `keep` goes first when the line is too long.
struct Part {
  std::string text;
  int keep;
  bool is_bar = false;
};

std::string join(const std::vector<Part>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out += kSeparator;
    }
    out += p.text;
  }
  return out;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string format_count(std::int64_t n) {
  const bool negative = n < 0;
  // Through unsigned so that the most negative value has a magnitude too.
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  std::string digits = std::to_string(magnitude);
  std::string out;
  const std::size_t lead = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out.append(digits, 0, lead);
  for (std::size_t i = lead; i < digits.size(); i += 3) {
    out += ',';
    out.append(digits, i, 3);
  }
  return negative ? cat("-", out) : out;
}

std::string format_seconds(std::int64_t s) {
  s = std::max<std::int64_t>(s, 0);
  if (s < 60) {
    return cat(std::to_string(s), "s");
  }
  if (s < 3600) {
    return cat(std::to_string(s / 60), "m ", two_digits(s % 60), "s");
  }
  if (s < 86400) {
    return cat(std::to_string(s / 3600), "h ", two_digits((s / 60) % 60), "m");
  }
  return cat(std::to_string(s / 86400), "d ", two_digits((s / 3600) % 24), "h");
}

std::string format_duration_ms(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 0);
  if (ms < 9950) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  return format_seconds((ms + 500) / 1000);
}

std::string format_rate(double rate) {
  if (!std::isfinite(rate) || rate <= 0) {
    return "0 items/s";
  }
  if (rate < 9.95) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f items/s", rate);
    return buf;
  }
  return cat(format_count(std::llround(rate)), " items/s");
}

std::string short_id(std::string_view id) {
  return std::string(id.size() <= 8 ? id : id.substr(id.size() - 8));
}

std::size_t display_width(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(
      utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string truncate_to_width(std::string_view utf8, std::size_t cells) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
      if (seen == cells) {
        return std::string(utf8.substr(0, i));
      }
      ++seen;
    }
  }
  return std::string(utf8);
}

std::string progress_bar(double fraction, std::size_t cells, bool ascii) {
  if (!std::isfinite(fraction)) {
    fraction = 0;
  }
  const auto filled =
      static_cast<std::size_t>(std::floor(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(cells)));
  std::string out;
  for (std::size_t i = 0; i < cells; ++i) {
    if (ascii) {
      out += i < filled ? '#' : '-';
    } else {
      out += i < filled ? "\u2588" : "\u2591";
    }
  }
  return out;
}

std::string render_line(const JobView& job, const LineStyle& style) {
  const std::size_t limit = style.width > 1 ? style.width - 1 : 1;
  const bool running = job.status == "running";
  std::vector<Part> parts;
  parts.push_back({pad_right(job.type.empty() ? std::string("job") : job.type, kTypeColumn), 100});
  if (style.show_id) {
    parts.push_back({short_id(job.id), 70});
  }
  parts.push_back({cat("[", progress_bar(fraction_done(job), kWideBar, style.ascii), "]"), 45, true});
  parts.push_back({pad_left(cat(std::to_string(job.progress), "%"), 4), 90});
  parts.push_back({cat(format_count(job.processed_items), "/", format_count(job.total_items)), 80});
  // Of synced and skipped, the larger one says more (a first sync syncs, a repeat skips).
  const bool mostly_skipped = job.skipped_items > job.synced_items;
  parts.push_back({cat("synced ", format_count(job.synced_items)), mostly_skipped ? 20 : 35});
  parts.push_back({cat("skipped ", format_count(job.skipped_items)), mostly_skipped ? 35 : 20});
  parts.push_back({cat("failed ", format_count(job.failed_items)), 60});
  if (running) {
    parts.push_back({format_rate(job.items_per_second), 10});
    if (job.eta_seconds) {
      parts.push_back({cat("ETA ", format_seconds(*job.eta_seconds)), 40});
    }
  }
  parts.push_back({status_text(job), 95});

  // Too long: drop the parts least worth their room, one at a time; narrowing the bar comes right
  // after dropping the rate.
  std::size_t bar = kWideBar;
  while (display_width(join(parts)) > limit && parts.size() > 1) {
    auto lowest = std::min_element(parts.begin(), parts.end(),
                                   [](const Part& a, const Part& b) { return a.keep < b.keep; });
    if (lowest->keep > kNarrowBarKeep && bar > kNarrowBar) {
      --bar;
      for (auto& p : parts) {
        if (p.is_bar) {
          p.text = cat("[", progress_bar(fraction_done(job), bar, style.ascii), "]");
        }
      }
      continue;
    }
    parts.erase(lowest);
  }
  auto line = join(parts);
  // The type column's padding may end the line when everything else went.
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return truncate_to_width(line, limit);
}

std::string render_plain_line(const JobView& job, std::string_view timestamp) {
  std::string out(timestamp);
  out += " job ";
  out += job.id;
  out += ' ';
  out += job.type.empty() ? std::string("job") : job.type;
  out += ' ';
  out += job.status;
  out += ' ';
  out += std::to_string(job.progress);
  out += "% ";
  out += std::to_string(job.processed_items);
  out += '/';
  out += std::to_string(job.total_items);
  out += cat(" synced=", std::to_string(job.synced_items), " skipped=", std::to_string(job.skipped_items),
             " failed=", std::to_string(job.failed_items));
  if (job.status == "running") {
    out += cat(" rate=", std::to_string(std::llround(std::max(job.items_per_second, 0.0))), "/s");
    if (job.eta_seconds) {
      out += cat(" eta=", format_seconds(*job.eta_seconds));
    }
  }
  if (is_finished(job) && job.duration) {
    out += cat(" duration=", format_duration_ms(*job.duration));
  }
  if (job.status == "failed" && job.failure_reason && !job.failure_reason->empty()) {
    out += cat(" reason=", quoted(*job.failure_reason));
  }
  return out;
}

std::vector<std::string> render_item_errors(const JobView& job, std::size_t max, bool plain) {
  std::vector<std::string> out;
  const std::size_t shown = std::min(max, job.errors.size());
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& e = job.errors[i];
    if (plain) {
      out.push_back(cat("error item=", e.item_id, " reason=", quoted(e.reason)));
    } else {
      out.push_back(cat("  item ", e.item_id, ": ", e.reason));
    }
  }
  const auto total = std::max<std::int64_t>(job.error_count, static_cast<std::int64_t>(job.errors.size()));
  const auto more = total - static_cast<std::int64_t>(shown);
  if (more > 0) {
    const std::string where = cat("GET /api/ml/sync/job/", job.id, "/errors");
    if (plain) {
      out.push_back(
          cat("errors=", std::to_string(total), " shown=", std::to_string(shown), " all=", quoted(where)));
    } else {
      out.push_back(cat("  … ", format_count(more), " more item error", more == 1 ? "" : "s", ": ", where));
    }
  }
  return out;
}

std::string render_job_table(const std::vector<JobView>& jobs) {
  struct Column {
    const char* title;
    bool right;
  };
  static constexpr Column kColumns[] = {
      {"ID", false},    {"TYPE", false},   {"STATUS", false}, {"PROGRESS", true}, {"ITEMS", true},
      {"SYNCED", true}, {"SKIPPED", true}, {"FAILED", true},  {"CREATED", false}, {"DURATION", true}};
  constexpr std::size_t kCount = std::size(kColumns);
  std::vector<std::array<std::string, kCount>> rows;
  for (const auto& j : jobs) {
    // "2026-11-26T06:00:00.123Z" → "2026-11-26T06:00:00Z": a second is precise enough to read.
    std::string created = j.created_at;
    if (created.size() > 20 && created[19] == '.') {
      created = cat(std::string_view(created).substr(0, 19), "Z");
    }
    rows.push_back({j.id, j.type, j.status, cat(std::to_string(j.progress), "%"),
                    cat(format_count(j.processed_items), "/", format_count(j.total_items)),
                    format_count(j.synced_items), format_count(j.skipped_items), format_count(j.failed_items),
                    created, j.duration ? format_duration_ms(*j.duration) : std::string("-")});
  }
  std::array<std::size_t, kCount> widths{};
  for (std::size_t c = 0; c < kCount; ++c) {
    widths[c] = display_width(kColumns[c].title);
    for (const auto& row : rows) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  std::string out;
  auto add_row = [&](const auto& cells) {
    std::string line;
    for (std::size_t c = 0; c < kCount; ++c) {
      if (c > 0) {
        line += kSeparator;
      }
      line += kColumns[c].right ? pad_left(std::string(cells[c]), widths[c])
                                : pad_right(std::string(cells[c]), widths[c]);
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line;
    out += '\n';
  };
  std::array<std::string, kCount> header;
  for (std::size_t c = 0; c < kCount; ++c) {
    header[c] = kColumns[c].title;
  }
  add_row(header);
  for (const auto& row : rows) {
    add_row(row);
  }
  return out;
}

}  // namespace mladmin::client
