// flowstat/store.h — a flowstat store: a directory holding flow events, open for queries.
//
// Start here. Open a store, Append events, Flush to make them durable, Query for FlowStatistic.
//
//   auto store = flowstat::Store::Open("/var/lib/flows", {});
//   if (!store.ok()) { report(store.status().message()); return; }
//   (*store)->Append(event);
//   (*store)->Flush();
//   auto stats = (*store)->Query(query);
//
// Thread safety: every method may be called from any thread at any time.
//  - Writes (Append, AppendBatch, NewLoader, Flush, FlushSettled, Compact, Expire, DeleteNamespace)
//    take turns: each waits until the write in progress ends; a live Loader is one long write.
//    Called from the thread that created a Loader that is still alive, they return Busy at once
//    instead of waiting for themselves.
//  - Sync never waits for a writer: it makes durable what was written before it was called.
//  - Reads (Query, ScanEvents, Verify) never wait for writers. Each sees a consistent snapshot:
//    all of a batch or none of it.
// One process at a time may open a store for writing; others may open it read-only (they see the
// data as of their Open).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flowstat/event.h"
#include "flowstat/info.h"
#include "flowstat/loader.h"
#include "flowstat/partial.h"
#include "flowstat/query.h"
#include "flowstat/status.h"

namespace flowstat {

class Store {
 public:
  // Opens (and, unless read_only, creates) the store in directory `path`. Refuses a directory
  // that is not a flowstat store, a store of another format version, a corrupted store, and a
  // store another process holds open for writing (Busy).
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const OpenOptions& options);

  // Copies the store in `path` into the new directory `dir` while another process may hold it
  // open for writing (where Open would say Busy): table files hard-linked (copied across file
  // systems), the rest copied, retried until no flush or compaction ran during the copy; the
  // copy is then opened (recovering the log prefix it holds) and verified. It holds the store as
  // of one instant during the copy, every write batch whole or absent. Use Backup instead from
  // the process that has the store open.
  static Status CopyBesideWriter(const std::string& path, const std::string& dir);

  virtual ~Store() = default;

  // Adds events. An event equal to one already stored is stored once (doc/input.md, identity). Each call is
  // atomic: after a crash either all of the batch is present or none of it. Durable only after
  // Flush. An event that fails ValidateEvent refuses the whole call, nothing stored:
  // InvalidArgument "event I: field: reason" (I from 0). REQUIRES: not read_only.
  virtual Status Append(const FlowEvent& event) = 0;
  virtual Status AppendBatch(std::span<const FlowEvent> events, AppendStats* stats = nullptr) = 0;

  // A bulk loader (see Loader). REQUIRES: not read_only; the Loader is destroyed before the Store.
  virtual Result<std::unique_ptr<Loader>> NewLoader() = 0;

  // Makes every appended event durable (survives a crash or power loss), after bringing the
  // rollups of the hours written since the last Flush up to date (queries are faster after it).
  virtual Status Flush() = 0;

  // Flush for a writer that never stops (a server's periodic refresh): makes every appended event
  // durable, but brings up to date only the rollups of the hours no write touched since the
  // previous FlushSettled began. An hour written without pause (the latest) is refreshed once,
  // by the first call after its writes stop, not by every call: the next write would make its
  // rollups stale again at once, and each refresh reads all of the hour's events. Queries are
  // exact either way (a stale hour is answered from its events).
  virtual Status FlushSettled() = 0;

  // Makes every event appended before the call durable, and nothing else: no rollup work, no
  // waiting for a writer. Concurrent callers share one log sync (group commit), so many threads
  // each appending a small batch and then calling Sync pay for a few syncs, not one each.
  virtual Status Sync() = 0;

  // Removes every event of `namespace_` and the namespaces below it (all namespaces for "/")
  // whose timestamp is before `before_ms`. Afterwards every query answers exactly as if those
  // events had never been appended. Whole hours go by range deletion (cheap, whatever their
  // size); the space returns to the file system with Compact. A write (see Thread safety).
  //
  // With `keep_rollups` (downsampled history) only the raw events of the whole hours before
  // `before_ms` go; their hour and day rollups stay. Queries that rollups answer exactly (no tag
  // or ID selector; window and buckets on whole hours there) still count every event; a query
  // that would need an expired raw event fails with InvalidArgument naming the earliest instant
  // it can be answered from; an event appended there is refused. InvalidArgument also for a
  // plain expiry that would cut such an hour (`before_ms` inside it).
  virtual Status Expire(int64_t before_ms, const std::string& namespace_ = "/", bool keep_rollups = false) = 0;

  // Removes `namespace_` and every namespace below it (never a sibling sharing its prefix):
  // a tenant leaving. Other namespaces' answers do not change. A write.
  virtual Status DeleteNamespace(const std::string& namespace_) = 0;

  // Counts what the store holds, on a snapshot: reads every stored event once (a pass over the
  // data, no decoding of strings). A read.
  virtual Result<StoreInfo> Info() = 0;

  // Writes a consistent copy of the store as of one instant into the new directory `dir` (a
  // RocksDB checkpoint: table files are hard-linked when `dir` is on the same file system, so
  // the copy is cheap and does not slow writers). The copy opens, verifies and answers like the
  // store at that instant. Safe while other threads write or query.
  virtual Status Backup(const std::string& dir) = 0;

  // Rewrites the store compactly; queries are faster afterwards. Not needed for correctness.
  virtual Status Compact() = 0;

  // Changes the capacity of the cache of decompressed blocks (OpenOptions::cache_bytes) while the
  // store is open; shrinking drops the least recently used blocks at once. Nothing for a store
  // opened without a cache (cache_bytes 0). Any thread, any time: queries running meanwhile keep
  // reading through the cache. A process that may answer one query only can open with a small
  // cache and grow it when a second one comes: one query reads each block once (a raw scan of a
  // week, ~113 MB of blocks on the canonical workload), and holding them all cost it the page
  // faults of that much fresh memory.
  virtual Status SetCacheBytes(size_t bytes) = 0;

  // The value a Loader last committed under `name` (Loader::SetCheckpoint); NotFound if none.
  virtual Result<std::string> Checkpoint(std::string_view name) = 0;

  // Checks the whole store: RocksDB block checksums, every key and value against
  // doc/storage-format.md, every record's dictionary references, and every current rollup
  // against the raw events it stands for. Appends one line per problem to `problems`; returns
  // Ok when the check ran (problems may still have been found), else why it could not run.
  virtual Status Verify(std::vector<std::string>* problems, uint64_t* keys_checked) = 0;

  // Evaluates `query` (doc/queries.md). Returns one FlowStatistic per mode (Accepted first for `any`).
  virtual Result<std::vector<FlowStatistic>> Query(const flowstat::Query& query, QueryStats* stats = nullptr) = 0;

  // This store's share of `query`, to be merged with other stores' (flowstat/partial.h): for any
  // split of events across stores, FinishPartial(MergePartials(their partials)) equals Query on
  // one store holding them all. The window is resolved here (relative bounds: now).
  virtual Result<Partial> QueryPartial(const flowstat::Query& query) = 0;

  // Calls `visit` for each stored event matching the namespace, window and filters of `query`
  // (metric, type and action are ignored; flowMode selects as for Query), in time order, at most
  // `limit` events (0: all). Stops early if `visit` returns false.
  virtual Status ScanEvents(const flowstat::Query& query, uint64_t limit,
                            const std::function<bool(const FlowEvent&)>& visit) = 0;
};

}  // namespace flowstat
