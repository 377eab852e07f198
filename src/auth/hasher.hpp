#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mladmin::auth {

/// A bounded pool for argon2id work (docs/security.md): `threads` hashes run at once, at most
/// `max_pending` more wait, and anything beyond that is refused at once instead of queueing
/// memory. A flood of logins therefore costs at most (threads × 19 MiB) and never starves the
/// request threads of other users. Thread-safe; the destructor finishes queued work.
class PasswordHasher final {
 public:
  PasswordHasher(std::size_t threads, std::size_t max_pending);
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  /// Blocks the calling thread until verified; nullopt when the pool is full (caller answers 429).
  std::optional<bool> verify(std::string encoded_hash, std::string password);

  /// Blocks until hashed; nullopt when the pool is full.
  std::optional<std::string> hash(std::string password);

 private:
  bool submit(std::function<void()> work);
  void run();

  std::size_t max_pending_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;  // items taken off queue_ by a worker and not finished yet
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mladmin::auth
