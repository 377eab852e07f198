#include "support/http_client.hpp"

#include "support/api_record.hpp"
#include "support/job_json.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

namespace mladmin::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

boost::json::value HttpResponse::json() const {
  return parse_or_null(body);
}

std::string HttpResponse::error_code() const {
  auto v = json();
  if (!v.is_object()) {
    return "";
  }
  const auto* e = v.as_object().if_contains("error");
  if (e == nullptr || !e->is_object() || !e->as_object().contains("code")) {
    return "";
  }
  return std::string(e->as_object().at("code").as_string());
}

std::string HttpResponse::error_message() const {
  auto v = json();
  if (!v.is_object() || !v.as_object().contains("error")) {
    return "";
  }
  return std::string(v.at("error").at("message").as_string());
}

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct HttpClient::Impl {
  unsigned short port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void connect() {
    stream.emplace(ioc);
    stream->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    buffer.clear();
  }
};

HttpClient::HttpClient(unsigned short port) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
}
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body, const Headers& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream) {
      impl_->connect();
    }
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) {
      req.set(k, v);
    }
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.prepare_payload();
    }
    boost::system::error_code ec;
    bhttp::write(*impl_->stream, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") {
      parser.skip(true);
    }
    if (!ec) {
      bhttp::read(*impl_->stream, impl_->buffer, parser, ec);
    }
    if (ec) {
      // A keep-alive connection the server closed since the last request: retry once afresh.
      impl_->stream.reset();
      if (attempt == 0) {
        continue;
      }
      ADD_FAILURE() << method << " " << target << ": " << ec.message();
      return {};
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out.headers[name] = std::string(f.value());
    }
    if (!res.keep_alive()) {
      impl_->stream.reset();
    }
    record_api_exchange(method, target, out.status, out.header("content-type"), out.body);
    return out;
  }
  return {};
}

HttpResponse HttpClient::get(const std::string& target, const std::string& token) {
  Headers h;
  if (!token.empty()) {
    h.emplace_back("Authorization", "Bearer " + token);
  }
  return request("GET", target, "", h);
}

HttpResponse HttpClient::del(const std::string& target, const std::string& token) {
  Headers h;
  if (!token.empty()) {
    h.emplace_back("Authorization", "Bearer " + token);
  }
  return request("DELETE", target, "", h);
}

HttpResponse HttpClient::post(const std::string& target, const std::string& json, const std::string& token) {
  Headers h{{"Content-Type", "application/json"}};
  if (!token.empty()) {
    h.emplace_back("Authorization", "Bearer " + token);
  }
  return request("POST", target, json, h);
}

HttpResponse HttpClient::patch(const std::string& target, const std::string& json, const std::string& token) {
  Headers h{{"Content-Type", "application/json"}};
  if (!token.empty()) {
    h.emplace_back("Authorization", "Bearer " + token);
  }
  return request("PATCH", target, json, h);
}

std::string HttpClient::login(const std::string& email, const std::string& password) {
  boost::json::object body{{"email", email}, {"password", password}};
  auto res = post("/api/auth/login", boost::json::serialize(body));
  EXPECT_EQ(res.status, 200) << res.body;
  auto v = res.json();
  if (!v.is_object() || !v.as_object().contains("token")) {
    return "";
  }
  return std::string(v.at("token").as_string());
}

std::string HttpClient::raw(const std::string& bytes, std::size_t max_bytes) {
  beast::tcp_stream s(impl_->ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), impl_->port));
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  s.expires_after(std::chrono::seconds(30));
  while (out.size() < max_bytes) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) {
      break;
    }
  }
  return out;
}

}  // namespace mladmin::test
