#include "sync/retention.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace mladmin::sync {

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

}  // namespace

RetentionSweeper::RetentionSweeper(store::Store& store, const domain::Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

RetentionSweeper::~RetentionSweeper() {
  stop();
}

bool RetentionSweeper::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::int64_t RetentionSweeper::sweep() {
  if (options_.days <= 0) {
    return 0;
  }
  // One cut-off for the whole sweep, so that it ends even while jobs keep finishing.
  const domain::TimestampMs cutoff = clock_.now_ms() - options_.days * kDayMs;
  store::ExpiredJobsDeleted total;
  for (;;) {
    const auto chunk = store_.write_value([&](store::Writer& w) {
      return w.delete_expired_jobs(cutoff, options_.jobs_per_chunk, options_.errors_per_chunk);
    });
    total.jobs += chunk.jobs;
    total.errors += chunk.errors;
    total.targets += chunk.targets;
    const bool more = chunk.jobs >= static_cast<std::int64_t>(options_.jobs_per_chunk) ||
                      chunk.errors + chunk.targets >= static_cast<std::int64_t>(options_.errors_per_chunk);
    if (!more || stopping()) {
      break;
    }
  }
  if (total.jobs > 0 || total.errors > 0) {
    spdlog::info(
        "msg=\"deleted finished jobs past retention\" jobs={} item_errors={} retention_days={} "
        "bulk_targets={}",
        total.jobs, total.errors, options_.days, total.targets);
  } else {
    spdlog::debug("msg=\"no finished jobs past retention\" retention_days={}", options_.days);
  }
  return total.jobs;
}

void RetentionSweeper::start() {
  if (options_.days <= 0) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void RetentionSweeper::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread.swap(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) {
    thread.join();
  }
}

void RetentionSweeper::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto next = std::chrono::steady_clock::now() + options_.interval;
    if (cv_.wait_until(lock, next, [this] { return stopping_; })) {
      return;
    }
    lock.unlock();
    try {
      sweep();
    } catch (const std::exception& e) {
      // The next sweep tries again; nothing is lost by waiting.
      spdlog::error("msg=\"retention sweep failed\" error=\"{}\"", e.what());
    }
    lock.lock();
  }
}

}  // namespace mladmin::sync
