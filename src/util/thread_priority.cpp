#include "util/thread_priority.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace mladmin::util {

namespace {

id_t this_thread_id() {
  return static_cast<id_t>(::syscall(SYS_gettid));
}

}  // namespace

void name_and_lower_this_thread(std::string_view name, int nice) {
  const std::string shortened(name.substr(0, 15));
  ::pthread_setname_np(::pthread_self(), shortened.c_str());
  nice = std::min(nice, 19);
  if (nice > 0 && nice > this_thread_nice()) {
    ::setpriority(PRIO_PROCESS, this_thread_id(), nice);
  }
}

int this_thread_nice() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, this_thread_id());
  return errno == 0 ? nice : 0;
}

}  // namespace mladmin::util
