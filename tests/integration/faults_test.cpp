// Faults outside the program (docs/fuzzing.md, "Faults"), with real processes and files:
// - the disk holding the database fills up during a sync (a small tmpfs made by the test, with
//   records enough that their documents need several times the space left): the job
//   fails with a reason naming the disk, the documents written are exactly those the job counted,
//   the server goes on answering, and after space is freed a retry finishes with every record's
//   document exactly once;
// - the disk holding the database is full when a request writes (filled to the last byte by the
//   test while the server runs): the write answers 507 insufficient_storage, never 500, reads go
//   on, what was written before is intact, and writes succeed again once space is freed;
// - another process holds the database's write lock when `mladmin serve` starts: it says so,
//   naming the file, and exits non-zero.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

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

/// Empties the write-ahead log of the database at `database_url` into its file, so that the disk
/// holds what it will hold until the next write: asks again while another checkpoint is under way
/// (the server's checkpointer: PRAGMA wal_checkpoint answers busy = 1 and copies nothing, and the
/// file would grow after the test measured the disk), within `deadline`. True when it did.
bool empty_wal(const std::string& database_url, std::chrono::milliseconds deadline = 10s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  do {
    if (query_int(database_url, "PRAGMA wal_checkpoint(TRUNCATE)") == 0) {  // the column "busy"
      return true;
    }
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

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
  ASSERT_TRUE(empty_wal(server.database_url()));
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

/// Fills the file system holding `path` to its last byte with that file: writes until there is
/// no room (ENOSPC), in ever smaller pieces. Answers the errno of the last failed write.
int fill_up(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return errno;
  }
  const std::vector<char> block(1024 * 1024, 'f');
  int last_error = 0;
  for (std::size_t size = block.size(); size > 0; size /= 2) {
    while (::write(fd, block.data(), size) > 0) {
    }
    last_error = errno;
  }
  ::close(fd);
  return last_error;
}

TEST(FaultsTest, AWriteThatFindsTheDiskFullAnswers507KeepsWhatWasWrittenAndWritesAgainOnceThereIsRoom) {
  TempDir dir;
  const auto disk_dir = dir.path() / "disk";
  SmallDisk disk(disk_dir, "16m");
  if (!disk.ok()) {
    GTEST_SKIP() << "mounting a small tmpfs needs root (CAP_SYS_ADMIN): " << disk.error();
  }
  const std::string db_path = (disk_dir / "mladmin.db").string();
  IntegrationServer server({.database_url = "sqlite://" + db_path});
  auto& alice = server.as_user();  // the account is written while there is room
  const auto entry = [](int i) {
    return json::serialize(json::object{{"title", "Day " + std::to_string(i)},
                                        {"body", std::string(4000, static_cast<char>('a' + i % 26))},
                                        {"mood", 3}});
  };
  std::vector<std::string> written;
  for (int i = 0; i < 10; ++i) {
    const auto res = alice.post("/api/journal-entries", entry(i));
    ASSERT_EQ(res.status, 201) << res.body;
    written.emplace_back(res.json().at("id").as_string());
  }

  // Empty the write-ahead log into the database file, so that the next writes need new room,
  // then fill the disk.
  ASSERT_TRUE(empty_wal(server.database_url()));
  const auto filler = (disk_dir / "filler").string();
  ASSERT_EQ(fill_up(filler), ENOSPC);

  // Writes until one finds no room (bounded: 1000 writes of 4 KB are far more than a page).
  HttpResponse refused;
  for (int i = 10; i < 1010 && refused.status == 0; ++i) {
    auto res = alice.post("/api/journal-entries", entry(i));
    if (res.status == 201) {
      written.emplace_back(res.json().at("id").as_string());
    } else {
      refused = std::move(res);
    }
  }
  ASSERT_EQ(refused.status, 507) << refused.body << server.log().substr(0, 4000);
  EXPECT_EQ(refused.error_code(), "insufficient_storage") << refused.body;
  EXPECT_THAT(refused.error_message(), HasSubstr("disk is full")) << refused.body;
  EXPECT_THAT(server.log(), HasSubstr("storage full"));

  // Reads go on, and what was written before is all there, the refused write not at all.
  EXPECT_EQ(server.http().get("/healthz").status, 200);
  EXPECT_EQ(alice.get("/api/auth/me").status, 200);
  for (std::size_t i = 0; i < written.size(); ++i) {
    const auto res = alice.get("/api/journal-entries/" + written[i]);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.json().at("title").as_string(), "Day " + std::to_string(i));
  }
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM journal_entries"),
            static_cast<std::int64_t>(written.size()));

  // Room again: the same write succeeds and reads back.
  ASSERT_EQ(::unlink(filler.c_str()), 0) << std::strerror(errno);
  const auto again = alice.post("/api/journal-entries", entry(static_cast<int>(written.size())));
  ASSERT_EQ(again.status, 201) << again.body << server.log().substr(0, 4000);
  const auto read = alice.get("/api/journal-entries/" + std::string(again.json().at("id").as_string()));
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json().at("title").as_string(), "Day " + std::to_string(written.size()));
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM journal_entries"),
            static_cast<std::int64_t>(written.size() + 1));
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
