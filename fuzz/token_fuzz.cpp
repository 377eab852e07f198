// libFuzzer target: JWT decoding (auth/token.cpp). verify() of any bytes returns a verdict, and a
// token it accepts names a subject; base64url decoding inverts encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/token.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mladmin::auth::TokenCodec codec("fuzzing-secret-0123456789abcdef0123456789");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto check = codec.verify(text, 1'700'000'000);
  (void)mladmin::auth::describe(check.error);
  if (const auto decoded = mladmin::auth::base64url_decode(text)) {
    if (mladmin::auth::base64url_decode(mladmin::auth::base64url_encode(*decoded)) != *decoded) {
      std::abort();
    }
  }
  if (mladmin::auth::base64url_decode(mladmin::auth::base64url_encode(text)) != text) {
    std::abort();
  }
  // The same bytes as a header and payload that carry a valid signature: only the claims' checks
  // stand between them and an accepted token.
  const auto half = size / 2;
  const auto signed_token = codec.sign_raw(text.substr(0, half), text.substr(half));
  (void)codec.verify(signed_token, 1'700'000'000);
  return 0;
}
