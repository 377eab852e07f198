#include "client/display.hpp"

#include <ctime>
#include <map>
#include <ostream>
#include <vector>

#include "client/progress.hpp"
#include "client/text.hpp"

namespace mladmin::client {

namespace {

class TerminalDisplay final : public Display {
 public:
  TerminalDisplay(std::ostream& out, DisplayOptions options) : out_(out), options_(std::move(options)) {}

  void update(const JobView& job, Clock::time_point now) override {
    auto it = find(job.id);
    if (is_finished(job)) {
      // Its final line stays above the live ones, whether or not it was live before.
      if (it != live_.end()) {
        live_.erase(it);
      }
      const auto style = line_style();
      permanent_.push_back(render_line(job, style));
      for (auto& line : render_item_errors(job, options_.max_item_errors, false)) {
        permanent_.push_back(truncate_to_width(line, style.width - 1));
      }
      draw(now);
      return;
    }
    bool status_changed = true;
    if (it == live_.end()) {
      live_.push_back(job);
    } else {
      status_changed = it->status != job.status;
      *it = job;
    }
    dirty_ = true;
    if (status_changed || now - last_draw_ >= options_.redraw) {
      draw(now);
    }
  }

  void tick(Clock::time_point now) override {
    if (dirty_ && now - last_draw_ >= options_.redraw) {
      draw(now);
    }
  }

  void note(const std::string& text) override {
    permanent_.push_back(truncate_to_width(text, line_style().width - 1));
    draw(last_draw_);
  }

  void close() override {
    if (!permanent_.empty() || dirty_) {
      draw(last_draw_);
    }
    if (drawn_ > 0) {
      out_ << '\n';
      drawn_ = 0;
    }
    out_.flush();
  }

 private:
  std::vector<JobView>::iterator find(const std::string& id) {
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (it->id == id) {
        return it;
      }
    }
    return live_.end();
  }

  LineStyle line_style() const {
    LineStyle s;
    s.width = options_.width ? options_.width() : 80;
    if (s.width < 2) {
      s.width = 80;
    }
    s.show_id = options_.show_id;
    s.ascii = options_.ascii;
    return s;
  }

  /// Goes back to the first live line, clears to the end of the screen, prints the lines that stay
  /// and then the live ones; the cursor rests at the end of the last live line.
  void draw(Clock::time_point now) {
    std::string frame;
    if (drawn_ > 0) {
      frame += '\r';
      if (drawn_ > 1) {
        frame += cat("\x1b[", std::to_string(drawn_ - 1), "A");
      }
      frame += "\x1b[J";
    }
    for (const auto& line : permanent_) {
      frame += line;
      frame += '\n';
    }
    permanent_.clear();
    const auto style = line_style();
    std::size_t rows = options_.height ? options_.height() : 24;
    rows = rows < 3 ? 1 : rows - 2;  // leave room for the line above and the cursor's own
    const std::size_t shown = live_.size() <= rows ? live_.size() : rows - 1;
    for (std::size_t i = 0; i < shown; ++i) {
      if (i > 0) {
        frame += '\n';
      }
      frame += render_line(live_[i], style);
    }
    drawn_ = shown;
    if (shown < live_.size()) {
      if (shown > 0) {
        frame += '\n';
      }
      frame += truncate_to_width(cat("… ", std::to_string(live_.size() - shown), " more active jobs"),
                                 style.width - 1);
      ++drawn_;
    }
    out_ << frame;
    out_.flush();
    dirty_ = false;
    last_draw_ = now;
  }

  std::ostream& out_;
  DisplayOptions options_;
  std::vector<JobView> live_;  // in the order they first showed up
  std::vector<std::string> permanent_;
  std::size_t drawn_ = 0;  // live lines on screen
  bool dirty_ = false;
  Clock::time_point last_draw_{};
};

class PlainDisplay final : public Display {
 public:
  PlainDisplay(std::ostream& out, std::ostream& err, DisplayOptions options)
      : out_(out), err_(err), options_(std::move(options)) {
    if (!options_.timestamp) {
      options_.timestamp = utc_timestamp_now;
    }
  }

  void update(const JobView& job, Clock::time_point now) override {
    auto [it, fresh] = jobs_.try_emplace(job.id);
    auto& s = it->second;
    if (fresh || s.status != job.status) {
      s.status = job.status;
      print(s, job, now);
      if (is_finished(job)) {
        const auto stamp = options_.timestamp();
        for (const auto& line : render_item_errors(job, options_.max_item_errors, true)) {
          out_ << stamp << " job " << job.id << ' ' << line << '\n';
        }
        out_.flush();
      }
      return;
    }
    if (is_finished(job) || job.processed_items == s.processed) {
      return;  // nothing new to say
    }
    s.pending = job;
    tick_one(s, now);
  }

  void tick(Clock::time_point now) override {
    for (auto& [id, s] : jobs_) {
      tick_one(s, now);
    }
  }

  void note(const std::string& text) override { err_ << "mladmin: " << text << std::endl; }

  void close() override { out_.flush(); }

 private:
  struct State {
    std::string status;
    std::int64_t processed = -1;
    Clock::time_point last_line{};
    std::optional<JobView> pending;  // progress waiting for its turn
  };

  void tick_one(State& s, Clock::time_point now) {
    if (s.pending && now - s.last_line >= options_.plain_every) {
      const JobView job = std::move(*s.pending);
      print(s, job, now);
    }
  }

  void print(State& s, const JobView& job, Clock::time_point now) {
    out_ << render_plain_line(job, options_.timestamp()) << '\n';
    out_.flush();
    s.processed = job.processed_items;
    s.last_line = now;
    s.pending.reset();
  }

  std::ostream& out_;
  std::ostream& err_;
  DisplayOptions options_;
  std::map<std::string, State> jobs_;
};

}  // namespace

std::unique_ptr<Display> make_terminal_display(std::ostream& out, DisplayOptions options) {
  return std::make_unique<TerminalDisplay>(out, std::move(options));
}

std::unique_ptr<Display> make_plain_display(std::ostream& out, std::ostream& err, DisplayOptions options) {
  return std::make_unique<PlainDisplay>(out, err, std::move(options));
}

std::string utc_timestamp_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace mladmin::client
