#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mladmin::store::sqlite {

/// Tunables of the background WAL checkpointer (docs/performance.md).
struct CheckpointOptions {
  std::chrono::milliseconds interval{250};  ///< a PASSIVE checkpoint this often
  std::int64_t truncate_bytes =
      64LL << 20;  ///< a WAL file larger than this is truncated once no reader needs it
  /// Room kept aside in the file `<database>-reserve` for the write that records a failure when
  /// the disk fills up (release_reserve()); 0: none.
  std::int64_t reserve_bytes = 1LL << 20;
};

/// Copies the WAL back into the database on a thread of its own, so that no writer's COMMIT does
/// it (SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages; the store
/// turns it off on its writer connection).
///
/// Each pass runs a PASSIVE checkpoint, which never takes the write lock and never waits: it
/// copies what no reader still needs. When the WAL file has grown past `truncate_bytes` and that
/// pass copied every frame, it tries a TRUNCATE with no busy wait: it succeeds only when no reader
/// is reading from the WAL, and otherwise gives up at once (SQLITE_BUSY) so that neither writers
/// nor new readers wait behind it. A reader that never ends therefore pins the WAL (SQLite cannot
/// do otherwise), and the first pass after it ends brings the file back under the bound.
class Checkpointer final {
 public:
  Checkpointer(std::string path, CheckpointOptions options);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Passes completed so far (for tests and metrics).
  std::uint64_t passes() const { return passes_.load(); }
  /// TRUNCATE checkpoints that succeeded.
  std::uint64_t truncations() const { return truncations_.load(); }

  /// For the write that must follow a full disk (a job's failure): deletes the reserve file,
  /// which gives its room back to the file system, and holds checkpoints (which would grow the
  /// database file into that room) until the disk has room again for four reserves; then the
  /// reserve is made again and checkpoints go on. True when a reserve was given back.
  bool release_reserve();

 private:
  void run();
  /// Writes the reserve file when it is missing and there is room; true when it is there.
  bool make_reserve();

  const std::string path_;
  const CheckpointOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool held_ = false;  ///< reserve given back: no checkpoint until it is made again (guarded by mutex_)
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> truncations_{0};
  std::thread thread_;
};

}  // namespace mladmin::store::sqlite
