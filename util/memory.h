// Memory: handing freed heap pages back to the system.
#pragma once

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace flowstat::util {

// Returns the free pages of every malloc arena to the system. glibc keeps what a thread frees
// for that thread's arena, so work that moves from one thread to another (an import's batches,
// then the rollup refresh's readers) would otherwise add its pages to those already kept. It
// costs a walk of the heap and the page faults of reusing the pages: call it between phases or
// every few MB of work, not per allocation.
inline void ReturnFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace flowstat::util
