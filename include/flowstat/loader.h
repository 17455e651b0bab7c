// flowstat/loader.h — what opening and writing a store take and give back: OpenOptions,
// AppendStats and the bulk Loader. Included by flowstat/store.h; on its own it lets the storage
// layer implement a Loader without depending on the Store that hands it out.
#pragma once

#include <cstdint>
#include <string_view>

#include "flowstat/event.h"
#include "flowstat/status.h"

namespace flowstat {

// OpenOptions::cache_bytes unless told otherwise: holds a week of the canonical workload's events.
inline constexpr size_t kDefaultCacheBytes = size_t{256} << 20;
inline constexpr size_t kDefaultDictionaryCacheBytes = size_t{64} << 20;
// The block cache of a process that only writes (import, consume): what it holds are the blocks of
// the entry index read for dictionary entries the writer no longer caches.
inline constexpr size_t kWriterCacheBytes = size_t{8} << 20;

struct OpenOptions {
  bool read_only = false;         // open an existing store for queries only
  bool create_if_missing = true;  // ignored when read_only
  // Test seam: replaces the namespace hash of the chunk keys (doc/storage-format.md), so tests
  // can force collisions. Answers must stay exact whatever it returns. nullptr: XXH64.
  uint64_t (*namespace_hash)(std::string_view) = nullptr;
  // Bytes of decompressed blocks kept for reads (least recently used go first); 0: none, every
  // read decompresses. Filled only by what queries read: imports and compactions read around it.
  size_t cache_bytes = kDefaultCacheBytes;
  // Bytes of addresses and details (about one entry per source and destination pair) a store open
  // for writing keeps in memory to intern them; those it forgot it finds through the store's
  // index, one read each. What bounds a writer's memory whatever the data's size.
  size_t dictionary_cache_bytes = kDefaultDictionaryCacheBytes;
};

struct AppendStats {
  uint64_t accepted = 0;    // events handed to the store
  uint64_t duplicates = 0;  // of which were equal to another event of the same batch
};

// Bulk loading: events are parsed and encoded on the calling thread while a background thread
// writes the previous batch, so parsing and writing overlap, and a third brings up to date the
// rollups of the hours the load has moved past (which neither of the last two batches wrote:
// input in time order), and of a day once all its hours are; Finish refreshes the rest. Obtained from Store::NewLoader.
// Thread safety: use a Loader from the thread that created it. While it lives it is the store's
// one writer: Append, AppendBatch, NewLoader, Flush and Compact called from other threads wait
// until it is destroyed; called from the thread that created it they return Busy at once
// (waiting for itself would never end). Query, ScanEvents and Verify run meanwhile on snapshots.
class Loader {
 public:
  virtual ~Loader() = default;
  // Parses one JSON line of the input format (doc/input.md) into the current batch. On InvalidArgument (the reason,
  // without file or line) the batch is unchanged.
  virtual Status AddJson(std::string_view line) = 0;
  // Adds an event to the current batch; one that fails ValidateEvent is refused (InvalidArgument
  // "field: reason") and the batch is unchanged.
  virtual Status Add(const FlowEvent& event) = 0;
  // Events added since the last Commit.
  virtual uint64_t pending() const = 0;
  // Attaches `value` under `name` (at most 256 bytes) to the current batch: the next Commit
  // writes it atomically with the batch's events, so after a crash the store holds both or
  // neither. `import --follow` keeps its place in a file this way. Store::Checkpoint reads it.
  virtual void SetCheckpoint(std::string_view name, std::string_view value) = 0;
  // Hands the current batch to the writer thread (each batch is atomic; batches are written in
  // order). Returns the error of an earlier batch's write, if any.
  virtual Status Commit() = 0;
  // Waits until every committed batch is written to the store (as a kill -9 of this process can
  // no longer lose it), and returns the first write error. Batches keep being accepted afterwards.
  virtual Status WaitWritten() = 0;
  // Commits, waits until every batch is written and makes them durable (as Store::Flush).
  // `stats` (optional) receives the totals of all batches. The memory the load held goes back
  // first, its cache of dictionary entries included: a later writer reads those from the store.
  virtual Status Finish(AppendStats* stats) = 0;
};

}  // namespace flowstat
