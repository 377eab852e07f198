#pragma once

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
  /// The rows of owner_recent, the owner index's level of recent writes, past which a write
  /// merges them into owner_documents (migration 0015; docs/performance.md, "A user's documents:
  /// an index in two levels"). Larger: fewer merges, each owner's leaf rewritten less often, and
  /// a longer read of owner_recent in every query filtered by user. Not a config key: for
  /// benchmarks (sync_bench's MLADMIN_BENCH_OWNER_RECENT_ROWS).
  std::size_t owner_recent_rows = 32768;
};

/// open_store (store/store.hpp) with these options.
std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size, const StoreOptions& options);

}  // namespace mladmin::store
