#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mladmin::test {

/// A fresh temporary directory, removed with everything in it when destroyed.
class TempDir final {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs the mladmin binary to completion with `args`, feeding `stdin_text`; `env` entries are
/// added to the environment. Fails the test if it runs past `deadline`.
CommandResult run_mladmin(const std::vector<std::string>& args, const std::string& stdin_text = "",
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::seconds deadline = std::chrono::seconds(60));

/// Runs `mladmin serve` on 127.0.0.1 port 0 to its end, with `toml` (unless empty) as its
/// configuration file, `env` added, and `database_url` (default: a new file): for a start the
/// server must refuse. One it accepted would not end: the test fails at the 60 s deadline.
CommandResult serve_refused(const std::string& toml, const std::map<std::string, std::string>& env = {},
                            const std::string& database_url = "");

/// Starts the mladmin binary with `args` and the given descriptors as its stdin, stdout and
/// stderr; `env` entries are added to a copy of the environment without MLADMIN_* variables.
/// Returns its pid.
pid_t spawn_mladmin(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    int in_fd, int out_fd, int err_fd);

/// A helper program of the tests (the reference ML receiver, the TLS proxy) that prints
/// "listening on URL" on its stdout once it serves.
struct ListeningChild {
  pid_t pid = -1;
  std::string url;
};
/// Starts `args` (its stderr into the file `stderr_path`, PYTHONUNBUFFERED=1, ML_SERVICE_TOKEN
/// unset) and waits up to 30 s for that line; throws, naming `what` and what it printed, when it
/// does not come (the child is killed then).
ListeningChild spawn_listening(std::vector<std::string> args, const std::string& stderr_path,
                               const std::string& what);
/// Kills `child` (SIGKILL) and reaps it.
void kill_child(ListeningChild& child);

/// Waits up to `deadline` for child `pid` to exit; answers its exit code (128 + signal when a
/// signal ended it), or nullopt when it is still running.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds deadline);

/// `mladmin serve` in a child process on 127.0.0.1 port 0 with a database in a temporary
/// directory. The constructor waits (with a deadline) for the "listening on" line.
class ServerProcess final {
 public:
  struct Options {
    std::map<std::string, std::string> env;  ///< added to the environment
    std::vector<std::string> extra_args;     ///< appended to `serve …`
    /// The TOML of a configuration file (README "Running it"): written into the server's temporary
    /// directory and passed with --config. Empty: no file.
    std::string config;
    std::string database_url;  ///< default: a file in the temp dir
    /// Sets MLADMIN_JWT_SECRET to kTestJwtSecret unless `env` sets it. False starts the server
    /// without a configured secret, so that it generates one and stores it in the database.
    bool test_jwt_secret = true;
  };
  ServerProcess();
  explicit ServerProcess(Options options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  const std::string& database_url() const { return database_url_; }
  pid_t pid() const { return pid_; }

  /// Sends `signal` and waits up to `deadline` for the exit; returns the exit code, or nullopt
  /// if it did not exit in time (then it is killed).
  std::optional<int> stop(int signal, std::chrono::milliseconds deadline = std::chrono::seconds(15));

  /// The server's stderr so far (its log).
  std::string log() const;

  /// Creates a user with the CLI against this server's database; returns its id.
  std::string add_user(const std::string& email, const std::string& password, const std::string& role,
                       const std::string& name = "Test User") const;

 private:
  Options options_;
  TempDir dir_;
  std::string database_url_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

/// A user created on a server's database and logged in over HTTP.
struct Account {
  std::string id;
  std::string token;
};
Account add_account(ServerProcess& server, const std::string& email, const std::string& password,
                    const std::string& role, const std::string& name = "Test User");

/// The JWT secret every test server is started with, so tests can mint tokens.
inline constexpr const char* kTestJwtSecret = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

}  // namespace mladmin::test
