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

}  // namespace flowstat::util
