#include "store/sqlite/checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <filesystem>
#include <system_error>

#include "store/sqlite/connection.hpp"

namespace mladmin::store::sqlite {

Checkpointer::Checkpointer(std::string path, CheckpointOptions options)
    : path_(std::move(path)), options_(options) {
  thread_ = std::thread([this] { run(); });
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
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cv_.wait_for(lock, options_.interval, [this] { return stop_; })) {
      return;
    }
    lock.unlock();
    int log = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(conn->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc == SQLITE_OK && log > 0 && copied == log) {
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
  }
}

}  // namespace mladmin::store::sqlite
