#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hpp"

namespace mladmin::test {

/// `mladmin ARGS` running in a child whose output the test reads while it runs: stdout is a pipe
/// (so the CLI writes plain lines) or, with `terminal`, a pseudo-terminal of 120 columns (so it
/// draws for a person); stderr goes to a file; stdin is empty.
class MladminChild final {
 public:
  MladminChild(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
               bool terminal = false);
  ~MladminChild();  ///< kills the child if it still runs
  MladminChild(const MladminChild&) = delete;
  MladminChild& operator=(const MladminChild&) = delete;

  /// Reads the child's output until it contains `text`, the output ends, or `deadline` passes;
  /// answers whether the text came.
  bool wait_for_output(std::string_view text, std::chrono::milliseconds deadline = std::chrono::seconds(60));
  /// Sends `signal` to the child.
  void signal(int signal);
  /// Reads the output to its end and waits for the exit, both within `deadline`; the exit code, or
  /// nullopt when it did not exit in time.
  std::optional<int> wait(std::chrono::milliseconds deadline = std::chrono::seconds(60));

  /// Everything read from its stdout so far.
  const std::string& out() const { return out_; }
  /// Its stderr so far.
  std::string err() const;

 private:
  /// Reads what is there within `until`; false once the output ended.
  bool read_some(std::chrono::steady_clock::time_point until);

  TempDir dir_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool out_ended_ = false;
  std::string out_;
  std::optional<int> exit_code_;
};

}  // namespace mladmin::test
