// libFuzzer target: list cursors as the API decodes them (api/json.cpp: decode_cursor and
// time_id_cursor). Bad cursors must end in a domain::Error (a 400), never anything else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/json.hpp"
#include "domain/error.hpp"
#include "http/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)mladmin::api::decode_cursor(text);
  } catch (const mladmin::domain::Error&) {
  }
  mladmin::http::Request req;
  req.query.emplace("cursor", text);
  try {
    (void)mladmin::api::time_id_cursor(req);
  } catch (const mladmin::domain::Error&) {
  }
  return 0;
}
