// Memory: handing freed heap pages back to the system.
#pragma once

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cstddef>

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

// What a query process keeps free per arena: at 32 MiB (the largest heap block) a W2M batch of
// queries took as many page faults as without keeping any; 64 MiB and 256 MiB alike 26% fewer.
inline constexpr size_t kQueryProcessKeptBytes = size_t{64} << 20;

// Keeps freed memory for the process's next allocations: blocks up to 32 MiB (glibc's largest
// heap block) come from the heap instead of mappings of their own, and up to `bytes` free at the
// top of an arena stay there. By default glibc maps each block over 128 KiB (later: over the
// largest it freed) afresh and trims the heap's free top, so a process answering one query after
// another touched new pages for each answer's sets, points and JSON: half the time of a minute
// Serie in `query --batch` where a page fault is slow (bench/RESULTS.md, session 18). What is kept
// is memory the process already used, so its peak RSS stays the same. A process-wide setting, for
// a tool that answers queries; call it before the work starts its threads.
inline void KeepFreedMemory(size_t bytes = kQueryProcessKeptBytes) {
#ifdef __GLIBC__
  constexpr int kLargestHeapBlock = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
  mallopt(M_MMAP_THRESHOLD, kLargestHeapBlock);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(bytes));
#else
  (void)bytes;
#endif
}

}  // namespace flowstat::util
