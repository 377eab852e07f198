#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "domain/source.hpp"

namespace mladmin::sync {

/// Whitespace folded to single spaces and trimmed: the `text` of a document.
std::string normalize_text(std::string_view text);
/// The same in place: `text` keeps its buffer when it is already folded, the common case.
void normalize_text_in_place(std::string& text);

/// BLAKE2b-256 of the parts, hex: a document's content hash. Needs sodium_init() (the Engine's
/// constructor calls it).
std::string content_hash(std::initializer_list<std::string_view> parts);

/// The document a source record becomes: what a sync and a bulk re-sync write.
struct Shaped {
  std::string title;
  std::string text;
  std::string metadata;  ///< JSON
  /// content_hash of the three parts.
  std::string hash() const { return content_hash({title, text, metadata}); }
};

Shaped shape(const domain::JournalEntry& entry);
Shaped shape(const domain::Goal& goal);
/// The same, taking the record's title and text (a sync shapes each record it reads once:
/// docs/performance.md, "Shaping a record").
Shaped shape(domain::JournalEntry&& entry);
Shaped shape(domain::Goal&& goal);

}  // namespace mladmin::sync
