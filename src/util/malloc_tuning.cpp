#include "util/malloc_tuning.hpp"

#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mladmin::util {

void tune_malloc() {
#if defined(__GLIBC__)
  if (const char* tunables = std::getenv("GLIBC_TUNABLES");
      tunables != nullptr && std::string_view(tunables).find("glibc.malloc.") != std::string_view::npos) {
    return;  // the operator's own setting
  }
  constexpr int kTrimThreshold = 4 << 20;
  constexpr int kMmapThreshold = 1 << 20;
  ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  ::mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
#endif
}

}  // namespace mladmin::util
