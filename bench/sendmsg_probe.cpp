// The floor under the event fan-out's CPU per event (docs/benchmarks.md, "Event fan-out"): a bare
// loop of one `sendmsg` per event and client to `sockets` loopback TCP connections, written as the
// server writes an event (one chunk of the chunked encoding: size line, id line, frame, CRLF; four
// iovecs, TCP_NODELAY), with a reader thread draining every client socket through epoll, as
// events_bench does. Prints the sending thread's user and system CPU per sendmsg.
//
//   sendmsg_probe [--sockets 1000] [--rounds 200] [--bytes 800] [--gap-us 2000] [--uring 0|1]
//
// --uring 1 (when built with liburing) hands each round's messages to the kernel as io_uring
// SENDMSG requests, all submitted with one io_uring_enter, instead of one sendmsg call each
// (docs/benchmarks.md, "A flush window per stream": what batching the submissions could save).
//
// Each round sends one message to every socket, then waits `gap-us` (events come a few
// milliseconds apart in the latency bench), so the reader drains between rounds. Everything is
// bounded (rounds × sockets messages); nothing here asserts a time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#if MLADMIN_PROBE_URING
#include <liburing.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "sendmsg_probe: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

struct Cpu {
  double user = 0;
  double sys = 0;
};

Cpu thread_cpu() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return {s(ru.ru_utime), s(ru.ru_stime)};
}

}  // namespace

int main(int argc, char** argv) {
  long sockets = 1000;
  long rounds = 200;
  long bytes = 800;
  long gap_us = 2000;
  long uring = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long value = std::atol(argv[i + 1]);
    if (flag == "--sockets") {
      sockets = value;
    } else if (flag == "--rounds") {
      rounds = value;
    } else if (flag == "--bytes") {
      bytes = value;
    } else if (flag == "--gap-us") {
      gap_us = value;
    } else if (flag == "--uring") {
      uring = value;
    } else {
      std::fprintf(
          stderr, "usage: sendmsg_probe [--sockets N] [--rounds R] [--bytes B] [--gap-us G] [--uring 0|1]\n");
      return 1;
    }
  }
#if MLADMIN_PROBE_URING
  io_uring ring{};
  if (uring != 0 && ::io_uring_queue_init(static_cast<unsigned>(sockets), &ring, 0) != 0) {
    die("io_uring_queue_init");
  }
#else
  if (uring != 0) {
    std::fprintf(stderr, "sendmsg_probe: built without liburing (install liburing-dev and reconfigure)\n");
    return 1;
  }
#endif
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("listen");
  }
  std::vector<int> clients;
  std::vector<int> servers;
  for (long i = 0; i < sockets; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      die("connect");
    }
    const int s = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) {
      die("accept");
    }
    const int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    clients.push_back(c);
    servers.push_back(s);
  }

  // What the server writes per event: "<size>\r\n", "id: …\n", the frame, "\r\n".
  const std::string frame(static_cast<std::size_t>(bytes - 24), 'x');
  const std::string id_line = "id: 1780000000000000\n";
  char size_line[16];
  const int size_len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", frame.size() + id_line.size());
  std::vector<iovec> iov = {{size_line, static_cast<std::size_t>(size_len)},
                            {const_cast<char*>(id_line.data()), id_line.size()},
                            {const_cast<char*>(frame.data()), frame.size()},
                            {const_cast<char*>("\r\n"), 2}};
  std::size_t message_bytes = 0;
  for (const auto& v : iov) {
    message_bytes += v.iov_len;
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();

  // The reader: every client socket in one epoll set, drained as the bench's reader does.
  const long expected = sockets * rounds * static_cast<long>(message_bytes);
  std::atomic<long> received{0};
  std::thread reader([&] {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (const int c : clients) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = c;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    }
    std::vector<epoll_event> events(256);
    std::vector<char> scratch(64 * 1024);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (received < expected && std::chrono::steady_clock::now() < deadline) {
      const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        const ssize_t got = ::recv(events[i].data.fd, scratch.data(), scratch.size(), MSG_DONTWAIT);
        if (got > 0) {
          received += got;
        }
      }
    }
    ::close(ep);
  });

  const Cpu cpu0 = thread_cpu();
  rusage self0{};
  ::getrusage(RUSAGE_SELF, &self0);
  const auto t0 = std::chrono::steady_clock::now();
  long sent = 0;
  for (long r = 0; r < rounds; ++r) {
    if (uring == 0) {
      for (const int s : servers) {
        if (::sendmsg(s, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(message_bytes)) {
          die("sendmsg");
        }
        ++sent;
      }
    }
#if MLADMIN_PROBE_URING
    else {
      for (const int s : servers) {
        io_uring_sqe* sqe = ::io_uring_get_sqe(&ring);
        if (sqe == nullptr) {
          die("io_uring_get_sqe");
        }
        ::io_uring_prep_sendmsg(sqe, s, &msg, MSG_NOSIGNAL);
      }
      if (::io_uring_submit_and_wait(&ring, static_cast<unsigned>(sockets)) < 0) {
        die("io_uring_submit_and_wait");
      }
      for (long i = 0; i < sockets; ++i) {
        io_uring_cqe* cqe = nullptr;
        if (::io_uring_wait_cqe(&ring, &cqe) != 0) {
          die("io_uring_wait_cqe");
        }
        if (cqe->res != static_cast<int>(message_bytes)) {
          errno = cqe->res < 0 ? -cqe->res : EIO;
          die("io_uring sendmsg");
        }
        ::io_uring_cqe_seen(&ring, cqe);
        ++sent;
      }
    }
#endif
    std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
  }
  const Cpu cpu1 = thread_cpu();
  rusage self1{};
  ::getrusage(RUSAGE_SELF, &self1);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  reader.join();
  const double user_us = 1e6 * (cpu1.user - cpu0.user) / static_cast<double>(sent);
  const double sys_us = 1e6 * (cpu1.sys - cpu0.sys) / static_cast<double>(sent);
  std::printf(
      "sendmsg_probe: %ld sockets x %ld rounds = %ld sendmsg of %zu bytes (4 iovecs, TCP_NODELAY), %ld us "
      "between rounds, %.2f s\n",
      sockets, rounds, sent, message_bytes, gap_us, wall);
  std::printf("%s\n", uring != 0 ? "handed over as io_uring SENDMSG requests, one submission per round"
                                 : "one sendmsg call each");
  std::printf("sending thread CPU per sendmsg: %.2f us (user %.2f, system %.2f); bytes received %ld of %ld\n",
              user_us + sys_us, user_us, sys_us, received.load(), expected);
  // The whole process (the reader too, and any io_uring worker threads), same interval.
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  const double self_us =
      1e6 * (secs(self1.ru_utime) - secs(self0.ru_utime) + secs(self1.ru_stime) - secs(self0.ru_stime)) /
      static_cast<double>(sent);
  std::printf("process CPU per message while sending (reader included): %.2f us\n", self_us);
#if MLADMIN_PROBE_URING
  if (uring != 0) {
    ::io_uring_queue_exit(&ring);
  }
#endif
  for (const int fd : clients) {
    ::close(fd);
  }
  for (const int fd : servers) {
    ::close(fd);
  }
  ::close(listener);
  return 0;
}
