#include "support/ml_receiver.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <stdexcept>

#include "domain/testing/eventually.hpp"
#include "support/http_client.hpp"

namespace mladmin::test {

using Clock = std::chrono::steady_clock;

std::string python3() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string receiver_script() {
  return std::string(MLADMIN_SOURCE_DIR) + "/examples/ml-service/receiver.py";
}

unsigned short closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

MlReceiver::MlReceiver() : MlReceiver(Options{}) {}

MlReceiver::MlReceiver(Options options) : token_(options.token) {
  std::vector<std::string> args = {python3(), receiver_script(), "--port", "0", "--db", dir_.file("ml.db")};
  if (!options.token.empty()) {
    args.insert(args.end(), {"--token", options.token});
  }
  if (options.test_switches) {
    args.emplace_back("--test-switches");
  }
  if (options.broken_repeats) {
    args.emplace_back("--broken-repeats");
  }
  if (options.nagle) {
    args.emplace_back("--nagle");
  }
  if (!options.tls_cert.empty()) {
    args.insert(args.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  child_ = spawn_listening(std::move(args), dir_.file("stderr"), "the reference receiver");
  url_ = child_.url;
  port_ = static_cast<unsigned short>(std::stoi(url_.substr(url_.rfind(':') + 1)));
}

MlReceiver::~MlReceiver() {
  kill_child(child_);
}

ServerProcess::Options MlReceiver::server_options(const std::string& ml_service_keys) const {
  ServerProcess::Options options;
  options.config = "[ml_service]\nurl = \"" + url_ + "\"\n" + ml_service_keys;
  if (!token_.empty()) {
    options.env["MLADMIN_ML_SERVICE_TOKEN"] = token_;
  }
  return options;
}

void MlReceiver::faults(const std::string& spec_json) {
  HttpClient client(port_);
  const auto res = client.post("/_test/faults", spec_json);
  if (res.status != 200) {
    throw std::runtime_error("POST /_test/faults answered " + std::to_string(res.status));
  }
}

boost::json::value MlReceiver::stats() {
  HttpClient client(port_);
  return client.get("/_test/stats").json();
}

boost::json::array MlReceiver::documents() {
  HttpClient client(port_);
  return client.get("/_test/documents").json().at("documents").as_array();
}

bool MlReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds deadline) {
  // The receiver announces nothing: its counters are looked at until they show the requests.
  return domain::eventually([&] { return stats().at("requests").to_number<std::size_t>() >= n; }, deadline,
                            std::chrono::milliseconds(20));
}

}  // namespace mladmin::test
