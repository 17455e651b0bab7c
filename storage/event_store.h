// EventStore: the RocksDB layout of doc/storage-format.md — the write path (events to chunk
// merges, dictionary entries and presence keys, in one atomic WriteBatch) and the read path
// (chunks of a namespace hash over an hour range, presence lookups), on consistent snapshots.
//
// Thread safety: whatever writes holds the writer slot (writer_, taken with EnterWriter), and
// methods that write take the lease as proof; Sync and any number of ReadViews may be used from
// any thread at any time. A bulk loader holds the slot for its whole life, encoding on one
// thread while WriteRecords runs on another and RefreshSettledRollups on a third: the state
// those threads share is guarded by write_mu_. See flowstat/store.h for what each public call
// does while another runs.
#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "flowstat/info.h"
#include "flowstat/loader.h"
#include "flowstat/query.h"
#include "schema/chunk.h"
#include "schema/record.h"
#include "storage/dictionary.h"
#include "storage/format.h"
#include "storage/presence_memo.h"
#include "util/thread_annotations.h"
#include "util/writer_slot.h"

namespace flowstat::storage {

class RollupBuilder;

inline constexpr size_t kTableBlockBytes = 32 << 10;  // RocksDB's table block size (StoreOptions)

// Turns off, for the calling thread, the statistics RocksDB keeps per thread by default (a count
// of every key comparison, block read, ...). Read from its shared library, each count is a call to
// __tls_get_addr: ~4% of an import's CPU, 2-3% of a raw scan's, for numbers flowstat never reads.
// Every thread that works in the store calls it: ours where they start, RocksDB's own as a flush
// or compaction begins (StoreOptions' listener).
void StopRocksDbCounters();

// Encoded events with the chunk each belongs to, and the dictionary entries they introduced: one
// atomic RocksDB WriteBatch once written. WriteRecords sorts the entries into chunks: appending
// to one flat vector keeps encoding free of per-chunk allocations (a batch of events spread over
// a week touches tens of thousands of chunks).
struct RecordBatch {
  struct Entry {
    uint64_t namespace_hash;
    uint32_t hour;
    uint8_t shard;
    schema::EventRecord record;
  };
  std::vector<Entry> entries;
  std::vector<std::pair<uint32_t, std::string_view>> dictionary;
  std::vector<std::pair<std::string, std::string>> checkpoints;  // written with the events
  Status intern_status;  // not ok: encoding could not look up an entry; the batch must not be written
  uint64_t events = 0;
  // Empties the batch for reuse: its vectors keep their capacity, so a bulk load stops allocating
  // (and the C library stops keeping freed pages) once its first batches are full.
  void Clear();
};

class EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> Open(const std::string& path, const OpenOptions& options);
  ~EventStore();

  // Takes the writer slot, waiting for the current writer to finish. Busy (at once) when the
  // calling thread holds the slot already, e.g. through a live Loader it created.
  Result<util::WriterLease> EnterWriter();

  // Encodes, deduplicates and writes `events` atomically: Encode each, Seal, WriteRecords.
  Status Write(const util::WriterLease& writer, std::span<const FlowEvent> events, AppendStats* stats);

  // The write path in two steps, so that encoding (one thread) and writing (another) overlap.
  // Encode and Seal run on the encoding thread; WriteRecords takes sealed batches in order.
  // After a failed write the store refuses further writes (its dictionary may be ahead of disk).
  void Encode(const util::WriterLease& writer, const schema::EventView& event, RecordBatch* batch);
  // Attaches the dictionary entries interned since the last Seal.
  void Seal(const util::WriterLease& writer, RecordBatch* batch);
  // It sorts batch->entries; the caller may Clear the batch and fill it again (keeping its memory).
  Status WriteRecords(const util::WriterLease& writer, RecordBatch* batch, AppendStats* stats) EXCLUDES(write_mu_);
  // Makes every write completed before the call durable (syncs the write-ahead log). Any thread,
  // any time. Group commit: callers arriving while a sync runs share the next one.
  Status Sync() EXCLUDES(sync_mu_);
  // Brings the rollups of the hours written since the last refresh up to date, then Sync.
  Status Flush(const util::WriterLease& writer) EXCLUDES(write_mu_);
  // Brings up to date the rollups of the hours the writes have moved past: the stale hours not
  // written in the last `quiet_writes` WriteRecords calls, and the rollups of the days all of whose
  // stale hours are such (a bulk load's background refresh, on its own thread while WriteRecords
  // runs on another). An hour written during the pass stays stale for the next; Flush still
  // refreshes everything left.
  Status RefreshSettledRollups(const util::WriterLease& writer, uint64_t quiet_writes) EXCLUDES(write_mu_);
  // Sync, after bringing up to date the rollups of the hours no write touched since the previous
  // call began (a server's periodic refresh): an hour still being written is refreshed once its
  // writes stop, not after each — the next write would make it stale again at once.
  Status FlushSettled(const util::WriterLease& writer) EXCLUDES(write_mu_);
  // The end of a bulk load, on its encoding thread: frees the dictionary's cache of written
  // entries, which later writes find through the index again, before the refresh needs memory.
  void EndBulkLoad(const util::WriterLease&) { dictionary_.ForgetWrittenCache(); }
  // Removes the events of namespace_ and every namespace below it whose timestamp is before
  // before_ms (all of them when before_ms is past kMaxTimestampMs), then refreshes the rollups
  // that changed. Queries afterwards answer as if those events had never been stored.
  struct RemoveSpec {
    std::string namespace_ = "/";  // normalized
    int64_t before_ms = kMaxTimestampMs + 1;
    // Only the raw events of whole hours before before_ms (rounded down to an hour) go; hour and
    // day rollups stay current and keep answering what they can answer exactly. A raw horizon
    // record says so to the planner, and to writers (no event may land below it).
    bool keep_rollups = false;
  };
  Status Remove(const util::WriterLease& writer, const RemoveSpec& spec) EXCLUDES(write_mu_);
  // The namespace hashes holding namespaces of `scope`, each with whether it also holds one outside.
  std::map<uint64_t, bool> RemovedHashes(const std::string& scope) const;

  // Rewrites the store compactly, after bringing every rollup up to date.
  Status Compact(const util::WriterLease& writer) EXCLUDES(write_mu_);

  // Sets the block cache's capacity (OpenOptions::cache_bytes); nothing without a cache. Any
  // thread, any time: RocksDB's cache is safe for concurrent use.
  void SetCacheBytes(size_t bytes) {
    if (block_cache_) block_cache_->SetCapacity(bytes);
  }

  uint64_t NamespaceHash(std::string_view ns) const { return namespace_hash_(ns); }

  // See Store::Verify.
  Status Verify(std::vector<std::string>* problems, uint64_t* keys_checked) const;

  // See Store::Info and Store::Backup.
  Result<StoreInfo> Info() const;
  Status Backup(const std::string& dir);

  // The value last written under `name` with a batch (RecordBatch::checkpoints); NotFound if none.
  Result<std::string> ReadCheckpoint(std::string_view name) const;

  // A consistent view: a RocksDB snapshot and the dictionary as of that snapshot (or later).
  class ReadView {
   public:
    // `fill_cache` false for whole-store passes (rollup refresh, verify) that would only evict
    // what queries keep in the block cache.
    explicit ReadView(const EventStore& store, bool fill_cache = true);
    ~ReadView();
    // REQUIRES: a view made with the dictionary (every view but the rollup refresh's).
    const Dictionary::Reader& dictionary() const { return *dict_; }

    using ChunkVisitor = std::function<Status(uint32_t hour, const schema::ChunkRecords&)>;
    // Visits the chunks of (`namespace_hash`, `shard`) with hour in [hour_lo, hour_hi], in order.
    Status ForEachChunk(uint64_t namespace_hash, uint8_t shard, uint32_t hour_lo, uint32_t hour_hi, QueryStats* stats,
                        const ChunkVisitor& visit) const;
    // The rollups of one hour or day; nullptr for each that is missing or not current (read the
    // finer rollups or the raw chunks instead).
    struct RollupParts {
      const fb::RollupSummary* summary = nullptr;
      const fb::RollupIds* ids = nullptr;
      const fb::RollupPairs* pairs = nullptr;
      const fb::RollupMinutes* minutes = nullptr;  // hours only
    };
    enum class RollupSpan { kHour, kDay };
    using RollupVisitor = std::function<Status(uint32_t unit, const RollupParts& current)>;
    // The hours (or days) in [lo, hi] of `namespace_hash` that hold events, in order, with their
    // current rollups. Only the parts `wanted` are looked up (the others stay nullptr).
    struct RollupWanted {
      bool summary = true;  // a Serie of sub-hour buckets reads an hour's minutes instead
      bool ids = false;
      bool pairs = false;
      bool minutes = false;  // hours only
    };
    Status ForEachRollup(uint64_t namespace_hash, RollupSpan span, uint32_t lo, uint32_t hi, RollupWanted wanted,
                         QueryStats* stats, const RollupVisitor& visit) const;
    // The days in [day_lo, day_hi] in which `namespace_hash` ever held events (its generation
    // counters): one key per such hour is read, whatever the width of the range.
    Status DaysWithEvents(uint64_t namespace_hash, uint32_t day_lo, uint32_t day_hi, std::vector<uint32_t>* days) const;

    // The (day, namespace hash) pairs where an item of `kind` hashing to `item_hash` occurs,
    // for days in [day_lo, day_hi]. May over-report (hash collisions), never under-reports.
    Status Presence(uint8_t kind, uint64_t item_hash, uint32_t day_lo, uint32_t day_hi,
                    std::vector<std::pair<uint32_t, uint64_t>>* out) const;

   private:
    friend class EventStore;
    // Reading at this view's snapshot, below `upper` (nullptr: unbounded).
    rocksdb::ReadOptions Options(const rocksdb::Slice* upper) const;

    // The rollup refresh's view: no dictionary, so no dictionary lock. The refresh reads ids,
    // never entries, and a bulk load's background refresh holding the lock for a pass would hold
    // off the encoding thread adding an entry.
    struct WithoutDictionary {};
    ReadView(const EventStore& store, WithoutDictionary);

    const EventStore& store_;
    std::optional<Dictionary::Reader> dict_;
    const rocksdb::Snapshot* snapshot_;
    bool fill_cache_;
  };

  // What expiry removed, by namespace subtree (format.h, kHorizon*).
  struct Horizon {
    uint8_t kind;
    std::string namespace_;
    int64_t before_ms;
  };
  std::vector<Horizon> Horizons() const EXCLUDES(horizon_mu_);
  // The latest raw horizon covering namespace `ns`, 0 when none: raw events of `ns` before it are
  // gone while their hour and day rollups stay.
  int64_t RawHorizon(std::string_view ns) const EXCLUDES(horizon_mu_);
  // By namespace hash: the first hour whose raw events are kept, for the hashes of namespaces
  // under a raw horizon (hours before it hold rollups without raw events to rebuild them from).
  std::map<uint64_t, uint32_t> RawHorizonHours(const Dictionary::Reader& dict) const EXCLUDES(horizon_mu_);
  // InvalidArgument when `event` falls before the raw horizon of its namespace: counted there by
  // rollups alone, it would make them stale with no raw events left to rebuild them from.
  Status CheckHorizon(const schema::EventView& event) const EXCLUDES(horizon_mu_);

 private:
  EventStore() = default;
  // Recomputes the rollups of the hours written since the last call (see storage/rollup.h).
  Status RefreshRollups() EXCLUDES(write_mu_);
  // Refreshes the stale hours last written by write `through` or earlier, and the days all of
  // whose stale hours are such.
  Status RefreshWrittenThrough(uint64_t through) EXCLUDES(write_mu_);
  // Recomputes every rollup whose generation is not its hour's (after a crash, say).
  Status RefreshStaleRollups() EXCLUDES(write_mu_);
  Status LoadDictionary();
  // Read-only stores of format 4 and later: see Dictionary::ReadLazily.
  Status ReadDictionaryLazily();
  // Stores open for writing: see Dictionary::ReadBounded.
  Status ReadDictionaryBounded(size_t cache_bytes);
  // The highest dictionary id (0: none), found through `it`.
  uint32_t LastDictionaryId(rocksdb::Iterator* it, Status* error) const;
  // Writes the index keys a store of format `version` lacks, then the current format record.
  Status UpgradeToEntryIndex(int version);
  // The current format record, synced.
  Status WriteFormatRecord();
  // Checks the format record; `*version` is the format found (4 for a fresh store).
  Status CheckFormat(bool fresh, int* version);
  // Puts dictionary entries (id, kind byte + payload) and their index keys.
  static void AddDictionaryEntries(std::span<const std::pair<uint32_t, std::string_view>> entries,
                                   rocksdb::WriteBatch* wb);
  Status LoadHorizons() EXCLUDES(horizon_mu_);
  // A writable open: moves the store past write-ahead logs that earlier sessions left empty.
  Status ReleaseEmptyLogs(const std::string& path);
  Status RemoveEverything(const util::WriterLease& writer, const RemoveSpec& spec) EXCLUDES(write_mu_);
  Status RemoveRawKeepingRollups(const util::WriterLease& writer, const RemoveSpec& spec) EXCLUDES(write_mu_);
  // Records (durably, before anything is removed) that `kind` expiry of `ns` reached before_ms,
  // and drops the records it makes meaningless; before_ms past kMaxTimestampMs (a deleted
  // subtree) drops every record of `ns` and below (storage/horizons.cc).
  Status RecordHorizon(uint8_t kind, const std::string& ns, int64_t before_ms) EXCLUDES(horizon_mu_);
  using PresenceKeyBytes = std::array<char, kPresenceKeySize>;
  // Appends the presence keys an (ID or tag list) `id` adds in (day, ns), unless written before.
  void AddPresence(const Dictionary::Reader& dict, std::vector<PresenceKeyBytes>* keys, uint8_t kind, uint32_t id,
                   uint32_t day, uint64_t ns) REQUIRES(write_mu_);
  // A day whose rollups a refresh recomputes, and which of its hours' rollups it rebuilds from
  // their chunks (bit i: hour i of the day); the others are read back.
  struct DayRefresh {
    uint64_t ns;  // namespace hash
    uint32_t day;
    uint32_t hours_to_rebuild;
    // False while other hours of the day are still being written: only `hours_to_rebuild` are
    // refreshed, and the day rollup waits (stale, so unread) for the last of them.
    bool with_day = true;
  };
  // The days a refresh's threads share: each takes the next one not taken, so neither waits idle
  // for the other to get through the large namespaces (halves by count took 0.69 and 0.96 s).
  class DayQueue {
   public:
    explicit DayQueue(std::span<const DayRefresh> days) : days_(days) {}
    // The next day to refresh; nullptr when none is left or the refresh stopped.
    const DayRefresh* Take() {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      return i < days_.size() ? &days_[i] : nullptr;
    }
    // After an error: the other thread takes no more days.
    void Stop() { next_.store(days_.size(), std::memory_order_relaxed); }

   private:
    const std::span<const DayRefresh> days_;
    std::atomic<size_t> next_{0};
  };
  // Refreshes `hours` (taken from dirty_hours_ with their write numbers) and `day_set`, on
  // `threads` threads (1 or 2), then marks fresh those hours not written again meanwhile. The days
  // in `hours_only` keep their day rollups as they are.
  Status RefreshTaken(std::map<std::pair<uint64_t, uint32_t>, uint64_t> hours,
                      const std::set<std::pair<uint64_t, uint32_t>>& day_set, int threads,
                      const std::set<std::pair<uint64_t, uint32_t>>& hours_only = {}) EXCLUDES(write_mu_);
  struct RefreshCursors;
  // Recomputes the rollups of the days it takes from `days` as of `view` (thread-safe: the
  // refresh's threads share the queue).
  Status RefreshDays(const ReadView& view, DayQueue& days);
  // Adds the rollups of the hours a day rebuilds, and unless told otherwise the day's, to `wb`.
  Status RefreshDay(RefreshCursors& cursors, const DayRefresh& day, rocksdb::WriteBatch* wb);
  // Writes `wb` once it holds 1 MB or more; the cursors then restart on the current state.
  Status WriteRollupsIfFull(RefreshCursors& cursors, rocksdb::WriteBatch* wb);
  // The chunk of (shard, hour) into `chunk` (nullopt when there is none), valid until the next
  // read through `cursors` or into `pinned`.
  Status ReadChunk(RefreshCursors& cursors, uint8_t shard, uint32_t hour, rocksdb::PinnableSlice* pinned,
                   std::optional<std::string_view>* chunk);
  // Adds the events of `hour` to `builder`.
  Status AddHourChunks(RefreshCursors& cursors, uint32_t hour, RollupBuilder* builder);
  // Adds the stored rollups of `hour` to `day`; false when they are missing or not current.
  static bool AddStoredHour(RefreshCursors& cursors, uint32_t hour, uint64_t generation, RollupBuilder* day);
  // Writes a refresh thread's batch. One at a time: two concurrent writes make RocksDB's group
  // commit copy one thread's batch on the other, synchronized inside the uninstrumented library
  // where ThreadSanitizer cannot see it (a reported race); the refresh is compute-bound, so
  // serializing its writes costs nothing measurable.
  Status WriteRollups(rocksdb::WriteBatch* wb);
  // Every write to RocksDB goes through here: after a failed one (a full disk, say) RocksDB's log
  // writer must not be synced again — Sync and closing then skip it and report the failure.
  Status WriteToDb(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* wb, std::string_view context);
  // Sorts, deduplicates and adds one batch's chunks and presence keys to `wb`; adds the
  // (namespace hash, hour) pairs written to `hours`.
  void AddChunks(RecordBatch& batch, rocksdb::WriteBatch* wb, uint64_t* duplicates,
                 std::set<std::pair<uint64_t, uint32_t>>* hours) REQUIRES(write_mu_);

  std::unique_ptr<rocksdb::Env> env_;            // checks table files as they are opened; outlives db_
  std::shared_ptr<rocksdb::Cache> block_cache_;  // null when opened without one
  std::unique_ptr<rocksdb::DB> db_;
  bool read_only_ = false;
  int format_version_ = 0;          // as stored (after any upgrade)
  std::string_view indexed_kinds_;  // the entry kinds this store's 'X' index covers
  uint64_t (*namespace_hash_)(std::string_view) = nullptr;

  // The one writer. Its holder alone encodes: interns into the dictionary and uses the caches
  // below (the dictionary itself is safe for concurrent readers).
  util::WriterSlot writer_;
  Dictionary dictionary_;
  schema::RecordEncoder encoder_{dictionary_};
  std::vector<uint64_t> namespace_hashes_;  // by namespace dictionary id; 0 = not computed yet
  std::vector<uint8_t> source_shards_;      // by source dictionary id; 0xff = not computed yet

  // What the writing side of a bulk load shares with the rollup refresh and the encoding thread.
  util::Mutex write_mu_;
  Status write_error_ GUARDED_BY(write_mu_);
  // (namespace hash, hour) with stale rollups -> the number of the write that last made it so.
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> dirty_hours_ GUARDED_BY(write_mu_);
  uint64_t writes_numbered_ GUARDED_BY(write_mu_) = 0;     // WriteRecords calls so far
  uint64_t flush_settled_mark_ GUARDED_BY(write_mu_) = 0;  // writes_numbered_ when FlushSettled last began
  std::set<std::pair<uint64_t, uint32_t>> dirty_days_
      GUARDED_BY(write_mu_);  // (namespace hash, day), beyond dirty hours'
  PresenceMemo presence_written_ GUARDED_BY(write_mu_);
  // WriteRecords' buffers, kept from one batch to the next (see RecordBatch::Clear).
  rocksdb::WriteBatch write_batch_ GUARDED_BY(write_mu_);
  size_t write_batch_reserved_ GUARDED_BY(write_mu_) = 0;  // the bytes write_batch_ was made with
  std::vector<schema::EventRecord> chunk_records_ GUARDED_BY(write_mu_);
  std::vector<PresenceKeyBytes> presence_keys_ GUARDED_BY(write_mu_);

  std::mutex rollup_write_mu_;  // see WriteRollups

  // Horizon records as stored; read by queries and writers, changed by Remove (a writer).
  mutable util::Mutex horizon_mu_;
  std::vector<Horizon> horizons_ GUARDED_BY(horizon_mu_);
  std::atomic<bool> has_raw_horizons_{false};  // lets writers skip CheckHorizon's lock

  std::atomic<uint64_t> writes_done_{0};             // WriteRecords calls that succeeded
  std::atomic<bool> write_failed_{false};            // a write or log sync failed: see WriteToDb
  util::Mutex sync_mu_;                              // one log sync at a time
  uint64_t writes_synced_ GUARDED_BY(sync_mu_) = 0;  // writes_done_ as of the last sync's start
};

// What names a store directory's current file set: CURRENT's content and the length of the
// MANIFEST it names. Unchanged across an operation, no flush or compaction finished during it.
std::string ManifestStamp(const std::filesystem::path& dir);

// Copies the store directory `path` into new `dir` beside a writer in another process (Store::
// CopyBesideWriter).
Status CopyBesideWriter(const std::string& path, const std::string& dir);

// Why `dir` cannot receive a backup of the store at `path`: it exists, or lies inside the store
// (which would then hold a copy of itself). Ok when it can.
Status CheckBackupTarget(const std::string& path, const std::string& dir);

// Converts a RocksDB status into the library's Status (the one place this happens).
Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace flowstat::storage
