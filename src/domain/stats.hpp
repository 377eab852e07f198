#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/clock.hpp"

namespace mladmin::domain {

// The rules of the stats report (GET /api/ml/stats) that need no storage: time buckets and the
// grouping of failure reasons.

/// The width of one point of the stats series. Buckets are aligned to UTC hours or days.
enum class StatsBucket { hour, day };

std::string_view to_string(StatsBucket bucket);
std::optional<StatsBucket> parse_stats_bucket(std::string_view text);

inline constexpr TimestampMs kHourMs = 3600LL * 1000;
inline constexpr TimestampMs kDayMs = 24 * kHourMs;

/// The most buckets one report may hold.
inline constexpr std::int64_t kMaxStatsBuckets = 1000;

std::int64_t bucket_ms(StatsBucket bucket);
/// The start of the bucket holding `t` (floor to the UTC hour or day; right for times before 1970).
TimestampMs bucket_start(TimestampMs t, StatsBucket bucket);
/// How many buckets cover [from, to): from the bucket holding `from` to the one holding `to - 1`.
/// Requires from < to.
std::int64_t bucket_count(TimestampMs from, TimestampMs to, StatsBucket bucket);
/// hour for a range of at most two days, day beyond.
StatsBucket default_bucket(TimestampMs from, TimestampMs to);

/// The kind of a failure reason, to count failures by: the reason with the values it embeds
/// replaced, so that "mood 7 is outside 1-5" and "mood 0 is outside 1-5" are one kind,
/// "mood N is outside 1-5". Rules: everything from the first to the last single quote becomes
/// '…' (a quoted value may hold quotes itself, as in "status 'it's' is neither open nor done");
/// a whole word that is an integer (optionally negative) becomes N, except before a size unit
/// (" KiB", " MiB"): "64 KiB" is a limit of the rule, not a value. Text without values is its own
/// kind. Migration 0009 applies the same rules in SQL to the errors already stored; keep them in step.
std::string failure_kind(std::string_view reason);

}  // namespace mladmin::domain
