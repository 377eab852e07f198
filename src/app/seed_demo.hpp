#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "store/store.hpp"

namespace mladmin::app {

struct SeedOptions {
  int users = 5;
  int entries_per_user = 200;
  int goals_per_user = 20;
  double invalid_ratio = 0.02;  ///< share of records that fail sync validation (docs/jobs.md rules)
  std::uint64_t seed = 1;
};

struct SeedResult {
  std::vector<std::string> emails;  ///< the users created
  std::string password;             ///< their shared password
  std::int64_t entries = 0;
  std::int64_t goals = 0;
  std::int64_t invalid = 0;  ///< records made to fail validation
};

/// Creates `users` demo users (writer1@demo.example, …) and their journal entries and goals: text
/// of varied length from a fixed vocabulary, moods, tags, statuses and dates, all drawn from a
/// generator seeded with `seed`, so the same options give the same content. A share of
/// `invalid_ratio` of the records breaks one docs/jobs.md rule so that failures show in the
/// dashboard. Users that exist already are reused.
SeedResult seed_demo(store::Store& store, accounts::Accounts& accounts, const domain::Clock& clock,
                     domain::IdGenerator& ids, const SeedOptions& options);

}  // namespace mladmin::app
