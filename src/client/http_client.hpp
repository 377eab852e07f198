#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mladmin::client {

/// Something went wrong talking to the server (it cannot be reached, it stopped answering, it
/// answered garbage); the message is meant for a person.
class ClientError final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The wait was cut short because the `interrupted` predicate said so (Ctrl-C).
class Interrupted final : public std::exception {
 public:
  const char* what() const noexcept override { return "interrupted"; }
};

/// Where the server is: `http[s]://HOST[:PORT][/BASE]`.
struct ServerUrl {
  bool tls = false;       ///< https: the server's certificate is verified
  std::string host;       ///< an IPv6 literal without its brackets
  std::string port;       ///< as given, else 80 or 443
  std::string origin;     ///< `http[s]://HOST[:PORT]`, every request's URL starts with it
  std::string base_path;  ///< "" or "/prefix" without a trailing slash, put before every target
  std::string text;       ///< the URL as given, for messages
};

/// Parses a server URL; throws ClientError naming the problem (not http(s), no host, a query, …).
ServerUrl parse_server_url(std::string_view text);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  std::string body;
  std::string content_type;
};

/// The body of a streamed response, read as it arrives.
class StreamReader {
 public:
  virtual ~StreamReader() = default;
  struct Chunk {
    std::string data;
    bool ended = false;  ///< the body ended or the connection dropped; nothing more comes
    std::string error;   ///< why it dropped ("" when the server ended the body)
  };
  /// Waits at most `wait` for more of the body; returns what arrived, which may be nothing.
  virtual Chunk read(std::chrono::milliseconds wait) = 0;
};

struct ClientOptions {
  /// Deadline of each request: connecting, sending, and reading the whole answer (a stream: its head).
  std::chrono::milliseconds timeout{30000};
  /// Asked every 100 ms while waiting; when it answers true the wait throws Interrupted.
  std::function<bool()> interrupted;
  /// For https: a PEM file of the certificate authorities to trust instead of the system's store
  /// (a private CA). Empty: the system's store.
  std::string ca_file;
};

/// A small blocking HTTP(S) client on libcurl (the library the ML service sink uses), one
/// connection per request; https verifies the server's certificate and host name. libcurl stays
/// in its .cpp. Not thread-safe; each call runs on the caller's thread.
class HttpClient final {
 public:
  HttpClient(ServerUrl url, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends a request to base_path + `target` and reads the whole answer (bodies up to 64 MiB);
  /// throws ClientError when there is no answer.
  Response request(std::string_view method, std::string_view target, const Headers& headers = {},
                   std::string_view body = {});

  struct Opened {
    Response head;                       ///< status and content type; the body when it is not 200
    std::unique_ptr<StreamReader> body;  ///< set for a 200: the body to read as it comes
  };
  /// Sends a GET and reads the answer's head; a 200's body is left to stream.
  Opened open_stream(std::string_view target, const Headers& headers = {});

  const ServerUrl& url() const { return url_; }

 private:
  ServerUrl url_;
  ClientOptions options_;
};

}  // namespace mladmin::client
