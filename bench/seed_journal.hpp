// The journal entries the sync benchmarks seed (sync_bench, floor_probe): n entries of ~450 bytes
// for `users` owners, 10,000 per transaction, from a fixed random sequence (docs/benchmarks.md).
#pragma once

#include <random>
#include <string>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "store/store.hpp"

namespace mladmin::bench {

/// The words of the seeded texts, and a text of `words` of them drawn from `rng`.
inline constexpr const char* kWords[] = {
    "morning", "walk", "coffee", "meeting", "tired", "grateful", "family", "project", "rain", "sunny",
    "gym",     "read", "dinner", "friend",  "sleep", "write",    "plan",   "music",   "calm", "busy"};
inline std::string seed_sentence(std::mt19937& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i > 0) {
      s.push_back(' ');
    }
    s += kWords[rng() % 20];
  }
  return s;
}

inline void seed_journal_entries(store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids,
                                 long n, long users) {
  std::mt19937 rng(42);
  auto sentence = [&](int words) { return seed_sentence(rng, words); };
  long made = 0;
  while (made < n) {
    store.write([&](store::Writer& w) {
      for (int i = 0; i < 10000 && made < n; ++i, ++made) {
        domain::JournalEntry e;
        e.id = ids.next();
        e.user_id = "user-" + std::to_string(made % users);
        e.title = sentence(4);
        e.body = sentence(60);  // ~450 bytes
        e.mood = 1 + static_cast<int>(rng() % 5);
        e.tags = {kWords[rng() % 20]};
        e.created_at = e.updated_at = clock.now_ms();
        w.save_journal_entry(e);
      }
    });
  }
}

}  // namespace mladmin::bench
