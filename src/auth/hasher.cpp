#include "auth/hasher.hpp"

#include <algorithm>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <utility>

#include "auth/password.hpp"

namespace mladmin::auth {
namespace {

// Frees the caller's slot before fulfilling its promise: a caller that has its answer no longer
// counts against the pool, so it can call again at once without being refused.
template <typename T, typename Compute>
void answer(std::promise<T>& promise, Compute compute, std::mutex& mutex, std::size_t& busy) {
  std::optional<T> value;
  std::exception_ptr error;
  try {
    value.emplace(compute());
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex);
    --busy;
  }
  if (error) {
    promise.set_exception(error);
  } else {
    promise.set_value(std::move(*value));
  }
}

}  // namespace

PasswordHasher::PasswordHasher(std::size_t threads, std::size_t max_pending) : max_pending_(max_pending) {
  // With no worker every caller would block forever; one is the least that keeps the contract.
  const std::size_t count = std::max<std::size_t>(threads, 1);
  threads_.reserve(count);
  try {
    for (std::size_t i = 0; i < count; ++i) {
      threads_.emplace_back([this] { run(); });
    }
  } catch (...) {
    // The destructor will not run for a half-built object: stop the workers already started.
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& thread : threads_) {
      thread.join();
    }
    throw;
  }
}

PasswordHasher::~PasswordHasher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Workers leave only once the queue is empty, so every accepted caller gets its answer.
  for (auto& thread : threads_) {
    thread.join();
  }
}

std::optional<bool> PasswordHasher::verify(std::string encoded_hash, std::string password) {
  // std::function needs a copyable callable, hence the shared promise. Only the work holds it, so
  // work that were ever dropped would break the promise instead of leaving its caller waiting.
  auto promise = std::make_shared<std::promise<bool>>();
  auto result = promise->get_future();
  const bool accepted =
      submit([this, promise = std::move(promise), hash = std::move(encoded_hash), pw = std::move(password)] {
        answer(
            *promise, [&] { return verify_password(hash, pw); }, mutex_, busy_);
      });
  if (!accepted) {
    return std::nullopt;
  }
  return result.get();
}

std::optional<std::string> PasswordHasher::hash(std::string password) {
  auto promise = std::make_shared<std::promise<std::string>>();
  auto result = promise->get_future();
  const bool accepted = submit([this, promise = std::move(promise), pw = std::move(password)] {
    answer(
        *promise, [&] { return hash_password(pw); }, mutex_, busy_);
  });
  if (!accepted) {
    return std::nullopt;
  }
  return result.get();
}

bool PasswordHasher::submit(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  // Capacity is threads + max_pending accepted items, however far the workers are from picking
  // them up: judging by queue_.size() alone would refuse a burst that arrives before idle workers
  // wake, and would refuse everything when max_pending is 0.
  if (stopping_ || queue_.size() + busy_ >= threads_.size() + max_pending_) {
    return false;
  }
  queue_.push_back(std::move(work));
  // Notifying under the lock means nothing of *this is touched once the caller holds a future,
  // so the pool may be destroyed as soon as every call has been accepted.
  cv_.notify_one();
  return true;
}

void PasswordHasher::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stopping, and nothing left to drain
    }
    {
      auto work = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;  // the work itself takes it back, just before answering its caller
      lock.unlock();
      work();  // reports through its promise and never throws
    }
    lock.lock();
  }
}

}  // namespace mladmin::auth
