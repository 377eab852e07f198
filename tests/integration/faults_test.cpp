// Faults outside the program (docs/fuzzing.md, "Faults"), with real processes and files:
// - the disk holding the database fills up during a sync (a small tmpfs made by the test, with
//   records enough that their documents need several times the space left): the job
//   fails with a reason naming the disk, the documents written are exactly those the job counted,
//   the server goes on answering, and after space is freed a retry finishes with every record's
//   document exactly once;
// - another process holds the database's write lock when `mladmin serve` starts: it says so,
//   naming the file, and exits non-zero.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::size_t kRecords = 10000;

/// A tmpfs mounted on `dir` for the life of the object; ok() is false where mounting is not
/// allowed (not root, or no CAP_SYS_ADMIN), and error() then says why.
class SmallDisk final {
 public:
  SmallDisk(std::filesystem::path dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (mounted_) {
      ::umount2(dir_.c_str(), MNT_DETACH);
    }
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }

  /// Bytes in use on it.
  std::uint64_t used() const {
    struct statvfs s {};
    ::statvfs(dir_.c_str(), &s);
    return static_cast<std::uint64_t>(s.f_blocks - s.f_bfree) * s.f_frsize;
  }
  /// Grows or shrinks it (not below what it holds).
  bool resize(std::uint64_t bytes) {
    const std::string options = "size=" + std::to_string(bytes);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(FaultsTest, DiskFullDuringASyncFailsTheJobNamingTheDiskLosesNothingAndTheServerGoesOn) {
  TempDir dir;
  const auto disk_dir = dir.path() / "disk";
  SmallDisk disk(disk_dir, "64m");
  if (!disk.ok()) {
    GTEST_SKIP() << "mounting a small tmpfs needs root (CAP_SYS_ADMIN): " << disk.error();
  }
  const std::string db_path = (disk_dir / "mladmin.db").string();
  IntegrationServer server({.database_url = "sqlite://" + db_path});
  const auto admin = server.admin();
  server.jobs();  // its ml_admin account is written while there is room
  seed_journal_entries(server.database_url(), admin.id, kRecords, "entry-");

  // Shrink the disk to what it holds plus 1 MiB: room for the job's row and a few slices, far
  // less than the documents of the records need (over 10 MiB).
  exec_sql(server.database_url(), "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(disk.resize(disk.used() + 1024 * 1024));

  auto& c = server.http();
  const auto started = server.start_job(kJournalSync, R"({"mode":"full","scope":"all"})", admin.token);
  ASSERT_TRUE(started.is_object());
  const auto id = str(started, "id");
  auto job = server.wait_finished(id, 120s);
  ASSERT_TRUE(job.is_object()) << server.log();
  ASSERT_EQ(str(job, "status"), "failed") << json::serialize(job);
  EXPECT_THAT(str(job, "failureReason"), HasSubstr("the disk holding the database " + db_path + " is full"))
      << server.log();
  EXPECT_LT(num(job, "syncedItems"), static_cast<std::int64_t>(kRecords));

  // The server answers, and the documents written are exactly those the job counted.
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(c.get(job_path(id), admin.token).status, 200);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM documents"), num(job, "syncedItems"));

  // Space again: the retry goes on from the checkpoint and every record ends with one document.
  ASSERT_TRUE(disk.resize(64 * 1024 * 1024));
  const auto res = c.post(job_path(id, "retry"), "", admin.token);
  ASSERT_EQ(res.status, 200) << res.body;
  job = server.wait_finished(id, 120s);
  ASSERT_TRUE(job.is_object());
  ASSERT_EQ(str(job, "status"), "completed") << json::serialize(job) << server.log();
  EXPECT_EQ(num(job, "syncedItems"), static_cast<std::int64_t>(kRecords));
  EXPECT_EQ(num(job, "failedItems"), 0);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM documents"),
            static_cast<std::int64_t>(kRecords));
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(DISTINCT source_id) FROM documents"),
            static_cast<std::int64_t>(kRecords));
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

/// Opens `path` and takes its write lock (a write transaction left open), as another program
/// writing to the database would; the lock goes with the object.
class LockHolder final {
 public:
  explicit LockHolder(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE IF NOT EXISTS holder (x INTEGER)");
    exec("BEGIN IMMEDIATE");
    exec("INSERT INTO holder VALUES (1)");
  }
  ~LockHolder() { sqlite3_close(db_); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

 private:
  void exec(const char* sql) {
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  }
  sqlite3* db_ = nullptr;
};

void expect_serve_refuses_locked(const std::string& db_path) {
  const auto r = serve_refused("", {{"MLADMIN_JWT_SECRET", kTestJwtSecret}}, "sqlite://" + db_path);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("the database " + db_path + " is locked by another process")) << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("listening on"))) << r.out;
}

TEST(FaultsTest, ServeSaysTheDatabaseIsLockedAndExitsWhenAnotherProcessWritesToANewFile) {
  TempDir dir;
  const auto db_path = dir.file("locked.db");
  LockHolder holder(db_path);
  expect_serve_refuses_locked(db_path);
}

TEST(FaultsTest, ServeSaysTheDatabaseIsLockedAndExitsWhenAnotherProcessWritesToAMigratedFile) {
  TempDir dir;
  const auto db_path = dir.file("locked.db");
  {
    IntegrationServer first({.database_url = "sqlite://" + db_path});
    ASSERT_EQ(first.stop(SIGTERM), 0) << first.log();
  }
  LockHolder holder(db_path);
  expect_serve_refuses_locked(db_path);
}

}  // namespace
}  // namespace mladmin::test
