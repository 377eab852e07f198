#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mladmin::domain {

/// What went wrong, independent of any protocol; api/ maps each kind to an HTTP status.
enum class ErrorKind {
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  conflict,
  payload_too_large,
  unsupported_media_type,
  unprocessable,
  too_many_requests,
  unavailable,
  internal,
};

/// The one error type that reaches clients. `code` is a stable snake_case identifier and
/// `message` a sentence meant for a person; neither may carry internal details (SQL, paths).
class Error final : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string code, std::string message)
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}

  /// Adds a string detail (`{"details": {"field": "email"}}`); returns *this for chaining.
  Error& with(std::string key, std::string value) {
    details_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Error& retry_after(int seconds) {
    retry_after_ = seconds;
    return *this;
  }

  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const std::vector<std::pair<std::string, std::string>>& details() const { return details_; }
  std::optional<int> retry_after() const { return retry_after_; }

 private:
  ErrorKind kind_;
  std::string code_;
  std::vector<std::pair<std::string, std::string>> details_;
  std::optional<int> retry_after_;
};

/// A 400 about one field of the input; the message names the field.
inline Error field_error(const std::string& field, const std::string& problem) {
  return std::move(Error(ErrorKind::bad_request, "invalid_field", "field '" + field + "': " + problem)
                       .with("field", field));
}

inline Error not_found(const std::string& what) {
  return Error(ErrorKind::not_found, "not_found", what + " not found");
}

}  // namespace mladmin::domain
