// libFuzzer target: the NDJSON import (sources/import.cpp) into a real SQLite store, as
// `POST /api/import` and `mladmin import` run it. The first byte picks journal entries or goals.
// Every non-blank line is either imported or reported, never both, never neither.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "domain/source.hpp"
#include "sources/import.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() / ("mladmin-import-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::make_unique<mladmin::store::sqlite::SqliteStore>((dir / "fuzz.db").string(), 1);
    store->migrate();
  }
  ~Fixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<mladmin::store::sqlite::SqliteStore> store;
  mladmin::domain::SystemClock clock;
  mladmin::domain::UuidV7Generator ids{clock};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  if (size == 0) {
    return 0;
  }
  const auto type =
      (data[0] & 1) != 0 ? mladmin::domain::SourceType::goals : mladmin::domain::SourceType::journal_entries;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  mladmin::sources::ImportOptions options;
  options.max_line_bytes = 512;  // small limits, so short inputs reach the long-line and batch paths
  options.batch_records = 3;
  options.batch_bytes = 1024;
  options.kept_errors = 4;
  const auto report = mladmin::sources::import_ndjson(in, type, *f.store, f.clock, f.ids, options);
  if (report.lines != report.imported + report.failed || report.imported != report.created + report.updated ||
      report.errors.size() > options.kept_errors || report.errors.size() > report.failed) {
    std::abort();
  }
  return 0;
}
