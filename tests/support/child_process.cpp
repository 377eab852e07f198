#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mladmin::test {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

MladminChild::MladminChild(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env, bool terminal) {
  int child_out = -1;
  if (terminal) {
    winsize ws{};
    ws.ws_col = 120;
    ws.ws_row = 40;
    int master = -1;
    if (openpty(&master, &child_out, nullptr, nullptr, &ws) != 0) {
      throw std::runtime_error("openpty failed");
    }
    fcntl(master, F_SETFD, FD_CLOEXEC);
    fcntl(child_out, F_SETFD, FD_CLOEXEC);
    out_fd_ = master;
  } else {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    out_fd_ = fds[0];
    child_out = fds[1];
  }
  const int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err_fd = open(dir_.file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = spawn_mladmin(args, env, in_fd, child_out, err_fd);
  close(in_fd);
  close(err_fd);
  close(child_out);
}

MladminChild::~MladminChild() {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_for_exit(pid_, std::chrono::seconds(10));
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
  }
}

bool MladminChild::read_some(Clock::time_point until) {
  if (out_ended_) {
    return false;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  pollfd p{out_fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) {
    return true;
  }
  char buf[4096];
  const ssize_t n = read(out_fd_, buf, sizeof buf);
  if (n > 0) {
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  if (n < 0 && errno == EINTR) {
    return true;
  }
  // End of the pipe, or EIO from a pseudo-terminal whose other side closed.
  out_ended_ = true;
  return false;
}

bool MladminChild::wait_for_output(std::string_view text, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (out_.find(text) == std::string::npos) {
    if (Clock::now() >= until || !read_some(until)) {
      return out_.find(text) != std::string::npos;
    }
  }
  return true;
}

void MladminChild::signal(int sig) {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, sig);
  }
}

std::optional<int> MladminChild::wait(std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until && read_some(until)) {
  }
  if (!exit_code_) {
    exit_code_ = wait_for_exit(
        pid_, std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now())));
  }
  return exit_code_;
}

std::string MladminChild::err() const {
  std::ifstream in(dir_.file("stderr"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mladmin::test
