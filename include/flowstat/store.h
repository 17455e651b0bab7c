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
// Thread safety: one Store object may be used by one writer thread (Append, AppendBatch, Flush,
// Compact) and any number of reader threads (Query, ScanEvents) at once. Each read sees a
// consistent snapshot: all of a batch or none of it. One process at a time may open a store for
// writing; others may open it read-only (they see the data as of their Open).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flowstat/event.h"
#include "flowstat/query.h"
#include "flowstat/status.h"

namespace flowstat {

struct OpenOptions {
  bool read_only = false;          // open an existing store for queries only
  bool create_if_missing = true;   // ignored when read_only
  // Test seam: replaces the namespace hash of the chunk keys (doc/storage-format.md), so tests
  // can force collisions. Answers must stay exact whatever it returns. nullptr: XXH64.
  uint64_t (*namespace_hash)(std::string_view) = nullptr;
};

struct AppendStats {
  uint64_t accepted = 0;    // events handed to the store
  uint64_t duplicates = 0;  // of which were equal to another event of the same batch
};

// Bulk loading: events are parsed and encoded on the calling thread while a background thread
// writes the previous batch, so parsing and writing overlap. Obtained from Store::NewLoader.
// Thread safety: use a Loader from one thread. While it lives, it is the store's writer: other
// Append/AppendBatch/Flush calls wait until it is destroyed.
class Loader {
 public:
  virtual ~Loader() = default;
  // Parses one JSON line of SPEC §2 into the current batch. On InvalidArgument (the reason,
  // without file or line) the batch is unchanged.
  virtual Status AddJson(std::string_view line) = 0;
  // Adds a validated event to the current batch.
  virtual Status Add(const FlowEvent& event) = 0;
  // Events added since the last Commit.
  virtual uint64_t pending() const = 0;
  // Hands the current batch to the writer thread (each batch is atomic; batches are written in
  // order). Returns the error of an earlier batch's write, if any.
  virtual Status Commit() = 0;
  // Commits, waits until every batch is written and makes them durable (as Store::Flush).
  // `stats` (optional) receives the totals of all batches.
  virtual Status Finish(AppendStats* stats) = 0;
};

class Store {
 public:
  // Opens (and, unless read_only, creates) the store in directory `path`. Refuses a directory
  // that is not a flowstat store, a store of another format version, a corrupted store, and a
  // store another process holds open for writing (Busy).
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const OpenOptions& options);

  virtual ~Store() = default;

  // Adds events. An event equal to one already stored is stored once (SPEC §6). Each call is
  // atomic: after a crash either all of the batch is present or none of it. Durable only after
  // Flush. REQUIRES: not read_only; events pass ValidateEvent.
  virtual Status Append(const FlowEvent& event) = 0;
  virtual Status AppendBatch(std::span<const FlowEvent> events, AppendStats* stats = nullptr) = 0;

  // A bulk loader (see Loader). REQUIRES: not read_only; the Loader is destroyed before the Store.
  virtual Result<std::unique_ptr<Loader>> NewLoader() = 0;

  // Makes every appended event durable (survives a crash or power loss).
  virtual Status Flush() = 0;

  // Rewrites the store compactly; queries are faster afterwards. Not needed for correctness.
  virtual Status Compact() = 0;

  // Checks the whole store: RocksDB block checksums, every key and value against
  // doc/storage-format.md, every record's dictionary references, and every current rollup
  // against the raw events it stands for. Appends one line per problem to `problems`; returns
  // Ok when the check ran (problems may still have been found), else why it could not run.
  virtual Status Verify(std::vector<std::string>* problems, uint64_t* keys_checked) = 0;

  // Evaluates `query` (SPEC §3). Returns one FlowStatistic per mode (Accepted first for `any`).
  virtual Result<std::vector<FlowStatistic>> Query(const flowstat::Query& query,
                                                   QueryStats* stats = nullptr) = 0;

  // Calls `visit` for each stored event matching the namespace, window and filters of `query`
  // (metric, type and action are ignored; flowMode selects as for Query), in time order, at most
  // `limit` events (0: all). Stops early if `visit` returns false.
  virtual Status ScanEvents(const flowstat::Query& query, uint64_t limit,
                            const std::function<bool(const FlowEvent&)>& visit) = 0;
};

}  // namespace flowstat
