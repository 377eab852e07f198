#pragma once

#include <sys/types.h>

#include <string>

#include "support/process.hpp"

namespace mladmin::test {

/// A self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1) and its key, as PEM
/// files made with OpenSSL's command line.
struct TestCertificate {
  std::string cert;  ///< also the CA file that trusts it
  std::string key;
};
/// Makes one in `dir`, named NAME.cert.pem and NAME.key.pem; fails the test when openssl fails.
TestCertificate make_test_certificate(const TempDir& dir, const std::string& name = "server");

/// tests/support/tls_proxy.py in a child process: https on 127.0.0.1 (port 0) with `certificate`,
/// relaying every connection to the plain server at 127.0.0.1:`upstream_port`, as a TLS proxy in
/// front of mladmin would. The constructor waits (with a deadline) for its "listening on" line.
class TlsProxy final {
 public:
  TlsProxy(unsigned short upstream_port, const TestCertificate& certificate);
  ~TlsProxy();  ///< kills the proxy
  TlsProxy(const TlsProxy&) = delete;
  TlsProxy& operator=(const TlsProxy&) = delete;

  /// https://127.0.0.1:PORT
  const std::string& url() const { return url_; }
  /// Its stderr so far (failed handshakes are logged there).
  std::string log() const;

 private:
  TempDir dir_;
  ListeningChild child_;
  std::string url_;
};

}  // namespace mladmin::test
