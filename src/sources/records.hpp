#pragma once

#include <array>
#include <string_view>

#include "domain/source.hpp"
#include "util/json_fields.hpp"

namespace mladmin::sources {

/// The fields a client sets on a journal entry or a goal: what POST and PUT take, and what an
/// import line holds besides userId, id, createdAt and updatedAt.
inline constexpr std::array<std::string_view, 4> kJournalEntryFields = {"title", "body", "mood", "tags"};
inline constexpr std::array<std::string_view, 4> kGoalFields = {"title", "description", "status",
                                                                "targetDate"};

/// Reads the client-set fields of a record from a JSON object, with the rules of the create and
/// replace routes: a 400 domain::Error naming the field for a missing field or a wrong type or
/// range, a 422 "invalid_record" for content a sync would refuse (docs/jobs.md). Leaves id, owner and
/// timestamps alone.
void read_fields(const util::JsonFields& fields, domain::JournalEntry& entry);
void read_fields(const util::JsonFields& fields, domain::Goal& goal);

}  // namespace mladmin::sources
