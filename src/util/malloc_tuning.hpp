#pragma once

namespace mladmin::util {

/// Sets glibc's allocator for a server that answers many requests with bodies of tens of KiB
/// (docs/performance.md, "The allocator's free memory"): free memory at the top of a heap is
/// handed back to the kernel only past 4 MiB, and blocks under 1 MiB come from the heaps, not
/// from a mapping of their own. With glibc's defaults (128 KiB, adjusted as the process runs) the
/// I/O thread's heap shrank and grew again with every few 40 KiB job lists, and the page faults
/// of its copies took three quarters of the server's time in some runs. What a burst of event
/// streams leaves behind is handed back by malloc_trim all the same (http/server.cpp). Does
/// nothing when GLIBC_TUNABLES already sets one of glibc.malloc's tunables, or without glibc.
void tune_malloc();

}  // namespace mladmin::util
