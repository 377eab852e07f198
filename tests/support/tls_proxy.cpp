#include "support/tls_proxy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/ml_receiver.hpp"

namespace mladmin::test {

TestCertificate make_test_certificate(const TempDir& dir, const std::string& name) {
  TestCertificate c{dir.file(name + ".cert.pem"), dir.file(name + ".key.pem")};
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      c.key + " -out " + c.cert + " >" + dir.file(name + ".openssl.log") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "openssl failed; see " << dir.file(name + ".openssl.log");
  return c;
}

TlsProxy::TlsProxy(unsigned short upstream_port, const TestCertificate& certificate) {
  std::vector<std::string> args = {
      python3(),         std::string(MLADMIN_SOURCE_DIR) + "/tests/support/tls_proxy.py",
      "--cert",          certificate.cert,
      "--key",           certificate.key,
      "--upstream-port", std::to_string(upstream_port)};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const int err_fd = open(dir_.file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], 1);
    dup2(err_fd, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  close(err_fd);
  // Read the "listening on URL" line, with a deadline.
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {
      continue;
    }
    char buf[256];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  const auto at = out.find("listening on ");
  const auto nl = out.find('\n');
  if (at == std::string::npos || nl == std::string::npos) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("the TLS proxy did not start: " + out + log());
  }
  url_ = out.substr(at + 13, nl - at - 13);
}

TlsProxy::~TlsProxy() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string TlsProxy::log() const {
  std::ifstream in(dir_.file("stderr"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mladmin::test
