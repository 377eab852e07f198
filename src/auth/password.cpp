#include "auth/password.hpp"

#include <pwquality.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "domain/error.hpp"

namespace mladmin::auth {
namespace {

// docs/security.md: argon2id at m = 19 MiB, t = 2, p = 1 (libsodium always uses one lane).
constexpr unsigned long long kOpsLimit = 2;
constexpr std::size_t kMemLimit = 19U * 1024U * 1024U;

// Names or email local parts shorter than this match too many strong passwords by chance.
constexpr std::size_t kMinIdentityChars = 4;

void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) {
    throw std::runtime_error("libsodium could not be initialised");
  }
}

[[noreturn]] void refuse(const std::string& rule, const std::string& problem) {
  throw std::move(
      domain::Error(domain::ErrorKind::bad_request, "weak_password", "field 'password': " + problem)
          .with("field", "password")
          .with("rule", rule));
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): nullopt when invalid,
// otherwise the number of code points.
std::optional<std::size_t> count_code_points(std::string_view text) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
      cp = lead & 0x1FU;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      cp = lead & 0x0FU;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      cp = lead & 0x07U;
    } else {
      return std::nullopt;
    }
    if (text.size() - i <= extra) {
      return std::nullopt;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0U) != 0x80U) {
        return std::nullopt;
      }
      cp = (cp << 6U) | (byte & 0x3FU);
    }
    const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) {
      return std::nullopt;
    }
    i += extra + 1;
    ++count;
  }
  return count;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

bool contains_identity(std::string_view password, std::string_view email, std::string_view name) {
  const std::string lowered = ascii_lower(password);
  auto contains = [&](std::string_view part) {
    const auto chars = count_code_points(part);
    return chars && *chars >= kMinIdentityChars && lowered.find(ascii_lower(part)) != std::string::npos;
  };
  const auto at = email.rfind('@');
  const std::string_view local = at == std::string_view::npos ? email : email.substr(0, at);
  return contains(trim(local)) || contains(trim(name));
}

struct SettingsDeleter {
  void operator()(pwquality_settings_t* settings) const { pwquality_free_settings(settings); }
};

// libpwquality with every composition, credit, class, repeat, sequence and similarity knob off, so
// that only cracklib's dictionary (and "too simplistic") verdicts remain. cracklib is not
// documented as thread-safe, so every check holds `mutex_`.
class Dictionary {
 public:
  Dictionary() : settings_(pwquality_default_settings()) {
    if (!settings_) {
      throw std::runtime_error("libpwquality could not allocate its settings");
    }
    for (int setting :
         {PWQ_SETTING_DIFF_OK, PWQ_SETTING_MIN_LENGTH, PWQ_SETTING_DIG_CREDIT, PWQ_SETTING_UP_CREDIT,
          PWQ_SETTING_LOW_CREDIT, PWQ_SETTING_OTH_CREDIT, PWQ_SETTING_MIN_CLASS, PWQ_SETTING_MAX_REPEAT,
          PWQ_SETTING_MAX_CLASS_REPEAT, PWQ_SETTING_MAX_SEQUENCE, PWQ_SETTING_GECOS_CHECK,
          PWQ_SETTING_USER_CHECK, PWQ_SETTING_USER_SUBSTR, PWQ_SETTING_LOCAL_USERS}) {
      pwquality_set_int_value(settings_.get(), setting, 0);
    }
    pwquality_set_int_value(settings_.get(), PWQ_SETTING_DICT_CHECK, 1);
    // cracklib reports a missing dictionary as a failed check of every password; a random password
    // that fails tells that case apart without matching cracklib's (translatable) messages.
    usable_ = run("vK7#qz-Lm2$wPx9!Rt4") != PWQ_ERROR_CRACKLIB_CHECK;
  }

  // True when cracklib judges the password common, dictionary-based or too simplistic.
  bool refuses(std::string_view password, std::size_t min_chars) {
    if (!usable_) {
      throw std::runtime_error(
          "the password dictionary check is unavailable (is cracklib's dictionary installed?)");
    }
    // pwquality refuses palindromes unconditionally and then skips cracklib, which would let
    // "aaaaaaaa" or "abcddcba" through. A palindrome is only as hard to guess as its first half,
    // so judge that half instead, down to where it becomes shorter than the policy's minimum.
    std::string candidate(password);
    while (true) {
      const int rc = run(candidate);
      if (rc == PWQ_ERROR_CRACKLIB_CHECK) {
        return true;
      }
      if (rc != PWQ_ERROR_PALINDROME) {
        return false;
      }
      std::size_t half = (candidate.size() + 1) / 2;
      while (half < candidate.size() && (static_cast<unsigned char>(candidate[half]) & 0xC0U) == 0x80U) {
        ++half;
      }
      candidate.resize(half);
      const auto chars = count_code_points(candidate);
      if (!chars || *chars < min_chars) {
        return true;
      }
    }
  }

 private:
  int run(const std::string& password) {
    std::lock_guard lock(mutex_);
    // No auxerror: we never show pwquality's text, and some errors allocate it.
    return pwquality_check(settings_.get(), password.c_str(), nullptr, nullptr, nullptr);
  }

  std::unique_ptr<pwquality_settings_t, SettingsDeleter> settings_;
  std::mutex mutex_;
  bool usable_ = false;
};

Dictionary& dictionary() {
  static Dictionary instance;
  return instance;
}

}  // namespace

void check_new_password(std::string_view password, std::string_view email, std::string_view name,
                        const PasswordPolicy& policy) {
  const auto chars = count_code_points(password);
  if (!chars) {
    refuse("invalid_utf8", "must be valid UTF-8 text");
  }
  if (*chars < policy.min_chars) {
    refuse("min_length", "must be at least " + std::to_string(policy.min_chars) + " characters");
  }
  if (*chars > policy.max_chars) {
    refuse("max_length", "must be at most " + std::to_string(policy.max_chars) + " characters");
  }
  if (contains_identity(password, email, name)) {
    refuse("contains_identity", "must not contain your name or email address");
  }
  if (policy.dictionary_check && dictionary().refuses(password, policy.min_chars)) {
    refuse("common", "is too common or too easy to guess");
  }
}

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  // A default-constructed string_view has a null data(); libsodium wants a real pointer.
  const char* data = password.empty() ? "" : password.data();
  if (crypto_pwhash_str_alg(out, data, password.size(), kOpsLimit, kMemLimit, crypto_pwhash_ALG_ARGON2ID13) !=
      0) {
    throw std::runtime_error("out of memory while hashing a password");
  }
  return std::string(out);
}

bool verify_password(std::string_view encoded_hash, std::string_view password) {
  ensure_sodium();
  // The encoded hash must be NUL-terminated and no longer than libsodium's buffer.
  if (encoded_hash.empty() || encoded_hash.size() >= crypto_pwhash_STRBYTES ||
      encoded_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string hash(encoded_hash);
  const char* data = password.empty() ? "" : password.data();
  return crypto_pwhash_str_verify(hash.c_str(), data, password.size()) == 0;
}

const std::string& dummy_hash() {
  static const std::string hash = [] {
    ensure_sodium();
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    return hash_password(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  }();
  return hash;
}

}  // namespace mladmin::auth
