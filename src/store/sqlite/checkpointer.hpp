#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace mladmin::store::sqlite {

/// Tunables of the background WAL checkpointer (docs/performance.md).
struct CheckpointOptions {
  std::chrono::milliseconds interval{250};  ///< a PASSIVE checkpoint this often
  std::int64_t truncate_bytes =
      64LL << 20;  ///< a WAL file larger than this is truncated once no reader needs it
  /// Room kept aside in the file `<database>-reserve` for the write that records a failure when
  /// the disk fills up (release_reserve()); 0: none.
  std::int64_t reserve_bytes = 1LL << 20;
  /// A pass is also started as soon as the writer's commits have added this many 4 KiB pages'
  /// worth of WAL frames since the last nudge (SqliteStore, after its commits; a quarter as many
  /// frames of 16 KiB), so that the checkpointer follows a busy writer closely; 0: every
  /// `interval` only.
  std::int64_t nudge_frames = 1024;
  /// When the writer's WAL holds more than this, the writer itself runs a RESTART checkpoint
  /// before its next transaction (copying what the checkpointer has not copied yet, about one
  /// commit's frames), so that its commit writes from the start of the file again instead of
  /// growing it; 0: never (docs/performance.md).
  std::int64_t restart_bytes = 512LL << 20;
  /// How long that checkpoint waits for the readers of older snapshots to finish.
  std::chrono::milliseconds restart_wait{20};
};

/// Copies the WAL back into the database on a thread of its own, so that no writer's COMMIT does
/// it (SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages; the store
/// turns it off on its writer connection).
///
/// Each pass runs a PASSIVE checkpoint, which never takes the write lock and never waits: it
/// copies what no reader still needs. When the WAL file has grown past `truncate_bytes`, that
/// pass copied every frame and no frame was added since the previous pass, it tries a TRUNCATE
/// with no busy wait: it succeeds only when no reader
/// is reading from the WAL, and otherwise gives up at once (SQLITE_BUSY) so that neither writers
/// nor new readers wait behind it. A reader that never ends therefore pins the WAL (SQLite cannot
/// do otherwise), and the first pass after it ends brings the file back under the bound.
class Checkpointer final {
 public:
  /// `thread_nice`: its thread's nice value (util::name_and_lower_this_thread;
  /// StoreOptions::background_nice).
  Checkpointer(std::string path, CheckpointOptions options, int thread_nice = 0);
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

  /// Starts a pass now (if none is running, else right after it): the writer calls it after its
  /// commits have added `nudge_frames` frames, so the copy trails the writer by about one commit.
  void nudge();
  /// True while the reserve is given back (no checkpoint may grow the database file).
  bool held() const { return held_.load(); }
  /// Keeps the checkpointer out of its passes while the caller checkpoints on a connection of
  /// its own (SQLite lets one checkpoint run at a time and fails the other at once), until the
  /// returned guard goes; waits at most `wait` for a pass under way. An empty guard (false): a
  /// pass did not end in time.
  class PassHold {
   public:
    PassHold() = default;
    explicit PassHold(Checkpointer* owner) : owner_(owner) {}
    PassHold(PassHold&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    PassHold& operator=(PassHold&&) = delete;
    PassHold(const PassHold&) = delete;
    PassHold& operator=(const PassHold&) = delete;
    ~PassHold() {
      if (owner_ != nullptr) {
        owner_->release_passes();
      }
    }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    Checkpointer* owner_ = nullptr;
  };
  PassHold hold_passes(std::chrono::milliseconds wait);

 private:
  void run();
  void release_passes();
  /// Writes the reserve file when it is missing and there is room; true when it is there.
  bool make_reserve();

  const std::string path_;
  const CheckpointOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  /// Reserve given back: no checkpoint until it is made again (set under mutex_; atomic so that
  /// held() reads it without the mutex).
  std::atomic<bool> held_{false};
  bool nudged_ = false;       ///< a pass is wanted before the interval ends (guarded by mutex_)
  bool in_pass_ = false;      ///< a pass's checkpoints are running (guarded by mutex_)
  bool passes_held_ = false;  ///< hold_passes() holds them off (guarded by mutex_)
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> truncations_{0};
  std::thread thread_;
};

}  // namespace mladmin::store::sqlite
