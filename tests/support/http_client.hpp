#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mladmin::test {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< names lowercased

  /// The body parsed as JSON (a null value when it is not JSON).
  boost::json::value json() const;
  /// `error.code` of an error body, or "" when there is none.
  std::string error_code() const;
  std::string error_message() const;
  std::string header(const std::string& lowercase_name) const;
};

/// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1:port; reconnects when
/// the server closed it.
class HttpClient final {
 public:
  explicit HttpClient(unsigned short port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  using Headers = std::vector<std::pair<std::string, std::string>>;

  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const Headers& headers = {});
  HttpResponse get(const std::string& target, const std::string& token = "");
  HttpResponse del(const std::string& target, const std::string& token = "");
  /// Sends `json` with Content-Type: application/json.
  HttpResponse post(const std::string& target, const std::string& json, const std::string& token = "");
  HttpResponse patch(const std::string& target, const std::string& json, const std::string& token = "");

  /// Logs in; returns the token (fails the calling test on anything but 200).
  std::string login(const std::string& email, const std::string& password);

  /// Sends raw bytes on a fresh connection and returns everything the server answers until it
  /// closes (or `max_bytes`).
  std::string raw(const std::string& bytes, std::size_t max_bytes = 1 << 20);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mladmin::test
