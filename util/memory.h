// Memory: handing freed heap pages back to the system.
#pragma once

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace flowstat::util {

// Returns the free pages of every malloc arena to the system. glibc keeps freed memory in the
// arena it came from, for that arena's next allocations; threads allocate from arenas of their
// own, so when work moves to other threads (an import's batches, then the rollup refresh's
// readers) the pages kept add to those the new work takes. It costs a walk of the heap and the
// page faults of reusing the pages: call it between phases or every few MB of work, not per
// allocation.
inline void ReturnFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// Caps glibc's malloc arenas at `arenas`. By default glibc gives threads that contend for the heap
// arenas of their own (up to 8 a core), each keeping the pages freed in it for its own later
// allocations: an import's threads (parser, writer, RocksDB's flush and compaction, the refresh's
// readers) held several arenas' worth of freed pages at once (18.3M generated events in one day:
// peak RSS 243 MB, 223 MB with two arenas, at the same speed on W2M). A process-wide setting, for
// a tool's bulk work; call it before the work starts its threads.
inline void LimitMallocArenas(int arenas) {
#ifdef __GLIBC__
  mallopt(M_ARENA_MAX, arenas);
#else
  (void)arenas;
#endif
}

}  // namespace flowstat::util
