#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace mladmin::test {

/// The reference ML service receiver (examples/ml-service/receiver.py) running in a child
/// process on 127.0.0.1, port 0, with a SQLite file in a temporary directory. The constructor
/// waits (with a deadline) for its "listening on" line.
class MlReceiver final {
 public:
  struct Options {
    std::string token;              ///< required bearer token; empty: none
    bool test_switches = true;      ///< serve /_test/ (faults and counters)
    bool broken_repeats = false;    ///< apply a repeated version again (breaks the contract)
    bool nagle = false;             ///< leave Nagle's algorithm on: ~40 ms an answer
    std::string tls_cert, tls_key;  ///< serve https with these PEM files
  };
  MlReceiver();
  explicit MlReceiver(Options options);
  ~MlReceiver();  ///< kills the receiver
  MlReceiver(const MlReceiver&) = delete;
  MlReceiver& operator=(const MlReceiver&) = delete;

  const std::string& url() const { return url_; }
  unsigned short port() const { return port_; }

  /// POST /_test/faults with `spec` (see receiver.py's Faults.update).
  void faults(const std::string& spec_json);
  /// GET /_test/stats: counters and the log of batch requests.
  boost::json::value stats();
  /// GET /_test/documents: every document held, as [{sourceType, sourceId, version, userId}].
  boost::json::array documents();
  /// The options of a `mladmin serve` whose sink is this receiver: a configuration file with
  /// [ml_service] url = url() and `ml_service_keys` (more keys of that table, a line each), and
  /// the receiver's token in MLADMIN_ML_SERVICE_TOKEN (docs/ml-service-api.md).
  ServerProcess::Options server_options(const std::string& ml_service_keys = "") const;
  /// Polls the stats until at least `n` batch requests arrived or `deadline` passes.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds deadline = std::chrono::seconds(30));

 private:
  TempDir dir_;
  ListeningChild child_;
  std::string token_;
  std::string url_;
  unsigned short port_ = 0;
};

/// The Python interpreter to run examples with: Debian's /usr/bin/python3 when present.
std::string python3();

/// The path of examples/ml-service/receiver.py in the source tree.
std::string receiver_script();

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
unsigned short closed_port();

}  // namespace mladmin::test
