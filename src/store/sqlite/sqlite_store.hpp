#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

namespace mladmin::store::sqlite {

/// The SQLite back end: one writer connection (writes are serialized, and open with
/// BEGIN IMMEDIATE) and a pool of reader connections, all in WAL mode.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::size_t readers);

  int migrate() override;
  int schema_version() override;
  bool ping() override;
  void read(const std::function<void(Reader&)>& fn) override;
  void write(const std::function<void(Writer&)>& fn) override;

 private:
  std::unique_ptr<Connection> acquire_reader();
  void release_reader(std::unique_ptr<Connection> conn);

  std::string path_;
  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;
};

}  // namespace mladmin::store::sqlite
