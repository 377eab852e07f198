#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace mladmin::store {

/// Tuning of the store's connections ([database] in the config file).
struct StoreOptions {
  /// The page cache of the connection every write goes through, in MiB ([database] cache_mib;
  /// docs/performance.md, "The writer's page cache"). SQLite's default is 2 MiB.
  std::size_t writer_cache_mib = 64;
  /// The nice value of the store's background threads, its WAL checkpointer and its search
  /// indexer (1-19; 0: the process's own), as sync::EngineOptions::thread_nice is the sync's
  /// ([sync] nice; docs/performance.md, "The sync yields the cores").
  int background_nice = 0;
  /// The owner index's merges (migration 0015; docs/performance.md, "A user's documents: an index
  /// in two levels"): once no documents have been written for `owner_merge_quiet`, the store
  /// moves owner_recent into owner_documents, `owner_recent_rows` rows a transaction, until
  /// fewer than `owner_recent_rows` are left; a write that finds `owner_recent_max_rows` or more
  /// there moves `owner_recent_rows` of them in its own transaction, so that a long stream of
  /// writes (a sync that never pauses) bounds what each query filtered by user reads of
  /// owner_recent (about 28 ms a million rows). Not config keys: for tests and benchmarks
  /// (sync_bench's MLADMIN_BENCH_OWNER_RECENT_ROWS, MLADMIN_BENCH_OWNER_RECENT_MAX_ROWS).
  std::size_t owner_recent_rows = 32768;
  std::size_t owner_recent_max_rows = 1 << 20;
  std::chrono::milliseconds owner_merge_quiet{1000};
};

/// open_store (store/store.hpp) with these options.
std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size, const StoreOptions& options);

}  // namespace mladmin::store
