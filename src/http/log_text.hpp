#pragma once

#include <string>
#include <string_view>

namespace mladmin::http {

/// `text` made safe to write inside a double-quoted log value: control bytes (a percent-decoded
/// %0A in a path, say), DEL and bytes of 0x80 and above become \xNN, and `"` and `\` are escaped,
/// so that a client can neither start a forged log line nor close the quotes and add fields of
/// its own. Log every piece of client-supplied text through it (docs/security.md).
std::string log_text(std::string_view text);

}  // namespace mladmin::http
