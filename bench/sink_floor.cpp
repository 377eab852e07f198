// The floor of the ML service sink's path (docs/benchmarks.md, "The sink's own CPU"): what it
// costs at the least to turn N records of sync_bench's sizes into batch bodies
// (sink::batch_to_json, batches of 500) and push them over a loopback TCP socket to a reader that
// discards them. Prints the CPU per record of each part: the serialization and the sends (the
// sender's thread; on loopback its send also runs the receiving side of TCP) and the reader's
// thread. The records are made and shaped as the engine shapes them (sync::shape) outside the
// measured parts. No HTTP, no answers, no store: the engine's sink path can only cost more.
// Usage: build/release/bench/sink_floor [N=1000000] [batch_items=500]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "domain/source.hpp"
#include "seed_journal.hpp"
#include "sink/http_sink.hpp"
#include "sync/shape.hpp"

using namespace mladmin;

namespace {

double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const long batch_items = std::max(1L, argc > 2 ? std::atol(argv[2]) : 500L);

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  check(listener >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
  check(::listen(listener, 1) == 0, "listen");
  socklen_t len = sizeof addr;
  check(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");

  double reader_cpu = 0;
  long long reader_bytes = 0;
  std::thread reader([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    check(fd >= 0, "accept");
    const double start = thread_cpu_s();
    static char buf[1 << 16];
    for (;;) {
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got <= 0) {
        break;
      }
      reader_bytes += got;
    }
    reader_cpu = thread_cpu_s() - start;
    ::close(fd);
  });

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "socket");
  check(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");

  // The records of bench/seed_journal.hpp: the same words, sizes and random sequence.
  using bench::kWords;
  std::mt19937 rng(42);
  auto sentence = [&](int words) { return bench::seed_sentence(rng, words); };
  const domain::TimestampMs now = 1795661353123;
  double json_cpu = 0;
  double send_cpu = 0;
  long long body_bytes = 0;
  long batches = 0;
  const auto wall_start = std::chrono::steady_clock::now();
  for (long made = 0; made < n; ++batches) {
    sink::Batch batch;
    batch.batch_id = "01a23f15-dcf8-70ef-8a45-" + std::to_string(100000000000 + batches);
    batch.job_id = "01a23f15-dcf8-70ef-8a45-0c4aefa32e11";
    for (long i = 0; i < batch_items && made < n; ++i, ++made) {
      domain::JournalEntry e;
      e.id = "01a23f15-dcf8-70ef-8a45-" + std::to_string(200000000000 + made);
      e.user_id = "user-" + std::to_string(made % 1000);
      e.title = sentence(4);
      e.body = sentence(60);
      e.mood = 1 + static_cast<int>(rng() % 5);
      e.tags = {kWords[rng() % 20]};
      e.created_at = e.updated_at = now;
      auto shaped = sync::shape(e);
      auto hash = shaped.hash();
      batch.upserts.push_back(sink::Upsert{domain::SourceType::journal_entries, e.id, e.user_id,
                                           std::move(shaped.title), std::move(shaped.text),
                                           std::move(shaped.metadata), std::move(hash), e.updated_at});
    }
    const double t0 = thread_cpu_s();
    const std::string body = sink::batch_to_json(batch);
    const double t1 = thread_cpu_s();
    const std::string head =
        "POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nIdempotency-Key: " + batch.batch_id + "\r\n\r\n";
    check(::send(fd, head.data(), head.size(), MSG_MORE) == static_cast<ssize_t>(head.size()), "send");
    for (std::size_t off = 0; off < body.size();) {
      const ssize_t sent = ::send(fd, body.data() + off, body.size() - off, 0);
      check(sent > 0, "send");
      off += static_cast<std::size_t>(sent);
    }
    const double t2 = thread_cpu_s();
    json_cpu += t1 - t0;
    send_cpu += t2 - t1;
    body_bytes += static_cast<long long>(body.size());
  }
  ::shutdown(fd, SHUT_WR);
  reader.join();
  ::close(fd);
  ::close(listener);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double per = 1e6 / static_cast<double>(n);
  std::printf(
      "%ld records in %ld batches of up to %ld: %.0f bytes of body per record, %.2f s wall (records made "
      "and shaped included)\n",
      n, batches, batch_items, static_cast<double>(body_bytes) / static_cast<double>(n), wall);
  std::printf(
      "CPU per record: batch_to_json %.2f us, sends %.2f us, reader %.2f us (%lld bytes read); "
      "in all %.2f us\n",
      json_cpu * per, send_cpu * per, reader_cpu * per, reader_bytes,
      (json_cpu + send_cpu + reader_cpu) * per);
  return 0;
}
