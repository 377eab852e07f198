#pragma once

#include <stdexcept>
#include <string>

namespace mladmin::store {

/// The database could not grow: the disk (or file system) holding it is full (SQLite's
/// SQLITE_FULL). The transaction that hit it was rolled back. what() is a message for a person,
/// naming the database file; a sync job that stops on it shows it as its failureReason
/// (docs/fuzzing.md, "Faults").
class StorageFull final : public std::runtime_error {
 public:
  explicit StorageFull(const std::string& database_path)
      : std::runtime_error("the disk holding the database " + database_path +
                           " is full; free space on it, then retry"),
        path_(database_path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Another process holds the database's lock and did not let go within the busy timeout
/// (SQLite's SQLITE_BUSY): e.g. a second server on the same file, or a tool in a write
/// transaction. what() is a message for a person, naming the database file.
class StorageLocked final : public std::runtime_error {
 public:
  explicit StorageLocked(const std::string& database_path)
      : std::runtime_error("the database " + database_path +
                           " is locked by another process (another mladmin serve on the same file, or a "
                           "tool in a write transaction); stop it or use another database"),
        path_(database_path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mladmin::store
