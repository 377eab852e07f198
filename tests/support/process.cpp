#include "support/process.hpp"

#include "support/http_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mladmin::test {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> make_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto key = entry.substr(0, entry.find('='));
    if (key.rfind("MLADMIN_", 0) == 0 || extra.contains(key)) {
      continue;  // a developer's own settings must not leak into tests
    }
    out.push_back(entry);
  }
  for (const auto& [k, v] : extra) {
    out.push_back(k + "=" + v);
  }
  return out;
}

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, int in_fd,
            int out_fd, int err_fd) {
  std::vector<std::string> argv_s{MLADMIN_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  auto env_s = make_env(env);
  std::vector<char*> envp;
  for (auto& e : env_s) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<int> reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) {
    return std::nullopt;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Waits for the child to exit: a pidfd becomes readable at that moment, so this is a wait on
/// the condition itself, bounded by `deadline`.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    if (auto code = reap(pid)) {
      if (fd >= 0) {
        close(fd);
      }
      return code;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      if (fd >= 0) {
        close(fd);
      }
      return std::nullopt;
    }
    if (fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left));
    } else {
      // No pidfd (a kernel before 5.3): poll the exit status instead.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace

pid_t spawn_mladmin(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    int in_fd, int out_fd, int err_fd) {
  return spawn(args, env, in_fd, out_fd, err_fd);
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds deadline) {
  return wait_exit(pid, deadline);
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (;;) {
    path_ = base / ("mladmin-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(path_)) {
      break;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run_mladmin(const std::vector<std::string>& args, const std::string& stdin_text,
                          const std::map<std::string, std::string>& env, std::chrono::seconds deadline) {
  TempDir dir;
  const auto in_path = dir.file("stdin");
  { std::ofstream(in_path, std::ios::binary) << stdin_text; }
  const int in_fd = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  const int out_fd = open(dir.file("stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(dir.file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const pid_t pid = spawn(args, env, in_fd, out_fd, err_fd);
  close(in_fd);
  close(out_fd);
  close(err_fd);
  auto code = wait_exit(pid, deadline);
  if (!code) {
    kill(pid, SIGKILL);
    wait_exit(pid, std::chrono::seconds(5));
    throw std::runtime_error("mladmin did not finish in time");
  }
  return {*code, read_file(dir.file("stdout")), read_file(dir.file("stderr"))};
}

CommandResult serve_refused(const std::string& toml, const std::map<std::string, std::string>& env,
                            const std::string& database_url) {
  TempDir dir;
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--database",
                                database_url.empty() ? "sqlite://" + dir.file("mladmin.db") : database_url};
  if (!toml.empty()) {
    std::ofstream(dir.file("mladmin.toml")) << toml;
    args.insert(args.end(), {"--config", dir.file("mladmin.toml")});
  }
  return run_mladmin(args, "", env, std::chrono::seconds(60));
}

ServerProcess::ServerProcess() : ServerProcess(Options{}) {}

ServerProcess::ServerProcess(Options options) : options_(std::move(options)) {
  database_url_ =
      options_.database_url.empty() ? "sqlite://" + dir_.file("mladmin.db") : options_.database_url;
  if (options_.test_jwt_secret && !options_.env.contains("MLADMIN_JWT_SECRET")) {
    options_.env["MLADMIN_JWT_SECRET"] = kTestJwtSecret;
  }
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--database", database_url_};
  if (!options_.config.empty()) {
    const auto path = dir_.file("mladmin.toml");
    std::ofstream(path) << options_.config;
    args.insert(args.end(), {"--config", path});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err_fd = open(dir_.file("server.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = spawn(args, options_.env, null_in, pipe_fds[1], err_fd);
  close(null_in);
  close(err_fd);
  close(pipe_fds[1]);

  // Wait for "mladmin listening on http://127.0.0.1:PORT" with a deadline.
  std::string seen;
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (port_ == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) {
      continue;
    }
    char buf[512];
    const ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;  // the process closed stdout: it exited
    }
    seen.append(buf, static_cast<std::size_t>(n));
    const auto pos = seen.find("listening on http://127.0.0.1:");
    if (pos != std::string::npos) {
      const auto start = pos + std::strlen("listening on http://127.0.0.1:");
      const auto end = seen.find('\n', start);
      if (end != std::string::npos) {
        port_ = static_cast<unsigned short>(std::stoi(seen.substr(start, end - start)));
      }
    }
  }
  close(pipe_fds[0]);
  if (port_ == 0) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
    pid_ = -1;
    throw std::runtime_error("mladmin serve did not start; its log:\n" + log());
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    stop(SIGKILL, std::chrono::seconds(10));
  }
}

std::optional<int> ServerProcess::stop(int signal, std::chrono::milliseconds deadline) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  kill(pid_, signal);
  auto code = wait_exit(pid_, deadline);
  if (!code) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::log() const {
  return read_file(dir_.file("server.log"));
}

std::string ServerProcess::add_user(const std::string& email, const std::string& password,
                                    const std::string& role, const std::string& name) const {
  auto r = run_mladmin({"user", "add", "--email", email, "--name", name, "--role", role, "--password-stdin",
                        "--database", database_url_},
                       password + "\n");
  if (r.exit_code != 0) {
    throw std::runtime_error("user add failed: " + r.err);
  }
  return r.out.substr(0, r.out.find(' '));
}

Account add_account(ServerProcess& server, const std::string& email, const std::string& password,
                    const std::string& role, const std::string& name) {
  Account a;
  a.id = server.add_user(email, password, role, name);
  HttpClient c(server.port());
  a.token = c.login(email, password);
  return a;
}

ListeningChild spawn_listening(std::vector<std::string> args, const std::string& stderr_path,
                               const std::string& what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  ListeningChild child;
  child.pid = fork();
  if (child.pid == 0) {
    dup2(fds[1], 1);
    dup2(err_fd, 2);
    ::setenv("PYTHONUNBUFFERED", "1", 1);
    ::unsetenv("ML_SERVICE_TOKEN");
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  close(err_fd);
  std::string out;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {
      continue;
    }
    char buf[512];
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
    kill_child(child);
    std::ifstream err(stderr_path);
    std::stringstream text;
    text << err.rdbuf();
    throw std::runtime_error(what + " did not start: " + out + text.str());
  }
  child.url = out.substr(at + 13, nl - at - 13);
  return child;
}

void kill_child(ListeningChild& child) {
  if (child.pid > 0) {
    kill(child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
    child.pid = -1;
  }
}

}  // namespace mladmin::test
