#include "store/store.hpp"
#include "store/store_options.hpp"

#include <stdexcept>

#include "store/sqlite/sqlite_store.hpp"

namespace mladmin::store {

void Writer::upsert_documents(domain::SourceType type, const std::vector<DocumentWrite>& docs) {
  std::vector<const DocumentWrite*> in_place;
  in_place.reserve(docs.size());
  for (const auto& d : docs) {
    in_place.push_back(&d);
  }
  write_documents(type, in_place);
}

std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size) {
  return open_store(url, pool_size, StoreOptions{});
}

std::unique_ptr<Store> open_store(const std::string& url, std::size_t pool_size,
                                  const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite://";
  std::string path;
  if (url.rfind(kSqlite, 0) == 0) {
    path = url.substr(kSqlite.size());
  } else if (url.find("://") == std::string::npos) {
    path = url;
  } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    throw std::runtime_error("PostgreSQL is not supported yet by this build; use sqlite:///path/file.db");
  } else {
    throw std::runtime_error("unsupported database URL '" + url + "': expected sqlite:///path/file.db");
  }
  if (path.empty()) {
    throw std::runtime_error("database URL '" + url + "' names no file");
  }
  return std::make_unique<sqlite::SqliteStore>(path, pool_size, sqlite::CheckpointOptions{}, options);
}

}  // namespace mladmin::store
