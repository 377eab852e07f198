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
  child_ = spawn_listening(std::move(args), dir_.file("stderr"), "the TLS proxy");
  url_ = child_.url;
}

TlsProxy::~TlsProxy() {
  kill_child(child_);
}

std::string TlsProxy::log() const {
  std::ifstream in(dir_.file("stderr"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mladmin::test
