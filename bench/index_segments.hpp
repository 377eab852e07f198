// The segments (FTS5 b-trees) of the full-text index beside a database: what a search reads
// until the indexer merges them (docs/performance.md, "FTS5 merges when the indexer is idle").
#pragma once

#include <sqlite3.h>

#include <string>

/// The segments of the index file `<database_path>-search`, or -1 when it cannot be read.
inline long long index_segments(const std::string& database_path) {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  long long out = -1;
  if (sqlite3_open_v2((database_path + "-search").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT count(DISTINCT segid) FROM documents_fts_idx", -1, &st, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    out = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}
