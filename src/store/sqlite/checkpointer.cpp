#include "store/sqlite/checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "util/thread_priority.hpp"

namespace mladmin::store::sqlite {

Checkpointer::Checkpointer(std::string path, CheckpointOptions options, int thread_nice)
    : path_(std::move(path)), options_(options) {
  make_reserve();
  thread_ = std::thread([this, thread_nice] {
    util::name_and_lower_this_thread("wal-checkpoint", thread_nice);
    run();
  });
}

bool Checkpointer::make_reserve() {
  if (options_.reserve_bytes <= 0) {
    return false;
  }
  const std::string reserve = path_ + "-reserve";
  std::error_code ec;
  if (static_cast<std::int64_t>(std::filesystem::file_size(reserve, ec)) == options_.reserve_bytes && !ec) {
    return true;
  }
  // Written, not merely sized: a sparse file would hold no room. (No fsync: the file system
  // allocates the blocks at the write; the reserve need not survive a crash, it is made again.)
  const int fd = ::open(reserve.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  const std::vector<char> zeros(64 * 1024, 0);
  std::int64_t left = options_.reserve_bytes;
  while (left > 0) {
    const auto n =
        ::write(fd, zeros.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, 64 * 1024)));
    if (n <= 0) {
      break;
    }
    left -= n;
  }
  const bool ok = left == 0;
  ::close(fd);
  if (!ok) {
    std::filesystem::remove(reserve, ec);
  }
  return ok;
}

bool Checkpointer::release_reserve() {
  if (options_.reserve_bytes <= 0) {
    return false;
  }
  std::error_code ec;
  const bool removed = std::filesystem::remove(path_ + "-reserve", ec);
  std::lock_guard lock(mutex_);
  held_ = true;
  return removed;
}

Checkpointer::PassHold Checkpointer::hold_passes(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, wait, [this] { return !in_pass_ && !passes_held_; })) {
    return PassHold{};
  }
  passes_held_ = true;
  return PassHold{this};
}

void Checkpointer::release_passes() {
  {
    std::lock_guard lock(mutex_);
    passes_held_ = false;
  }
  cv_.notify_all();
}

void Checkpointer::nudge() {
  {
    std::lock_guard lock(mutex_);
    nudged_ = true;
  }
  cv_.notify_all();
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Checkpointer::run() {
  std::unique_ptr<Connection> conn;
  try {
    conn = std::make_unique<Connection>(path_);
  } catch (const std::exception& e) {
    spdlog::error(
        "msg=\"WAL checkpointer cannot open the database; the WAL is not checkpointed\" error=\"{}\"",
        e.what());
    return;
  }
  // Never wait for a lock: a checkpoint that cannot run now runs at the next pass.
  sqlite3_busy_timeout(conn->handle(), 0);
  const std::string wal = path_ + "-wal";
  int previous_log = -1;  // the WAL's frames at the previous pass
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cv_.wait_for(lock, options_.interval, [this] { return stop_ || nudged_; }) && stop_) {
      return;
    }
    nudged_ = false;
    if (passes_held_) {
      continue;  // the writer checkpoints itself right now; the next wake-up passes again
    }
    if (held_) {
      // The reserve was given back to record a failure on a full disk: no checkpoint may grow
      // the database file into its room until the disk has room for four reserves again.
      struct statvfs fs {};
      const auto dir = std::filesystem::path(path_).parent_path();
      if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0 ||
          static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize) <
              4 * options_.reserve_bytes ||
          !make_reserve()) {
        continue;
      }
      held_ = false;
      spdlog::info("msg=\"the disk has room again; reserve made, WAL checkpoints go on\"");
    }
    in_pass_ = true;
    lock.unlock();
    int log = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(conn->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    // Truncated only once the writes have paused (no frame added since the previous pass): a
    // truncation drops the file's pages from the page cache, and a writer that goes on would
    // take and zero them again (docs/performance.md); the writer's own checkpoints keep the WAL
    // bounded while it writes.
    const bool quiet = log == previous_log;
    previous_log = log;
    if (rc == SQLITE_OK && log > 0 && copied == log && quiet) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(wal, ec);
      if (!ec && static_cast<std::int64_t>(size) > options_.truncate_bytes) {
        // TRUNCATE takes the write lock for a moment; with no busy wait it returns SQLITE_BUSY at
        // once when a writer or a reader of the WAL is in the way.
        if (sqlite3_wal_checkpoint_v2(conn->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                      nullptr) == SQLITE_OK) {
          truncations_.fetch_add(1);
        }
      }
    } else if (rc != SQLITE_OK && rc != SQLITE_BUSY && (rc & 0xFF) != SQLITE_LOCKED) {
      spdlog::warn("msg=\"WAL checkpoint failed\" error=\"{}\"", sqlite3_errmsg(conn->handle()));
    }
    passes_.fetch_add(1);
    lock.lock();
    in_pass_ = false;
    cv_.notify_all();  // a writer waiting in hold_passes()
  }
}

}  // namespace mladmin::store::sqlite
