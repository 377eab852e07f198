#include "domain/ids.hpp"

#include <array>
#include <random>

namespace mladmin::domain {

namespace {

std::uint64_t random64() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

std::string UuidV7Generator::next() {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    TimestampMs now = clock_.now_ms();
    // Within one millisecond (or if the clock steps back) the 12-bit counter keeps ids ordered;
    // when it overflows we borrow the next millisecond rather than repeat an id.
    if (now <= last_ms_) {
      ++counter_;
      if (counter_ > 0xFFF) {
        ++last_ms_;
        counter_ = random64() & 0x3FF;
      }
      now = last_ms_;
    } else {
      last_ms_ = now;
      counter_ = random64() & 0x3FF;  // leave headroom below 0xFFF for the same-millisecond ids
    }
    ms = static_cast<std::uint64_t>(now);
    seq = counter_;
  }
  std::array<std::uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  }
  b[6] = static_cast<std::uint8_t>(0x70 | ((seq >> 8) & 0x0F));
  b[7] = static_cast<std::uint8_t>(seq & 0xFF);
  const std::uint64_t r = random64();
  for (int i = 0; i < 8; ++i) {
    b[8 + i] = static_cast<std::uint8_t>(r >> (8 * i));
  }
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3F));

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') {
        return false;
      }
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace mladmin::domain
