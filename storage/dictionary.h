// The dictionary: every distinct string of the store (namespaces, IDs, tags, tag lists, IP
// addresses, details) gets a 32-bit id, persisted under 'D' keys and found by text through the 'X'
// entry index. It is kept in one of three ways:
//  - whole (Load): every entry in memory. Read-only stores of formats 2 and 3, which lack the index.
//  - bounded (ReadBounded): a store open for writing. The entries of the kinds a store holds few
//    of (namespaces, IDs, tags, tag lists) stay in memory; addresses and details — about one per
//    source and destination pair, what a store's dictionary grows with — are kept in a cache of at
//    most a set number of bytes, and the index finds those it forgot. So a writer's memory is
//    bounded whatever the data, and interning waits for the disk only past the cache.
//  - lazy (ReadLazily): a read-only store of format 4 or later reads entries as lookups ask for
//    them, so opening one costs the same whatever its size.
//
// Thread safety: one writer thread calls Intern/TakePending; any thread may hold a Reader, and
// MarkWritten may come from another thread (the bulk loader's writing one). A Reader blocks new
// entries of the kinds held in memory (not lookups, not cached kinds) until it is destroyed: keep
// it for one query. Lookups through one Reader may run on several threads at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "schema/record.h"
#include "util/byte_arena.h"
#include "util/hash_index.h"
#include "util/rw_lock.h"
#include "util/thread_annotations.h"

namespace flowstat::storage {

// Where a lazily read dictionary finds its entries: the store's 'D' entries and 'X' index.
class EntrySource {
 public:
  virtual ~EntrySource() = default;
  // The entry (kind byte + payload) with `id` into `entry`.
  virtual Status Entry(uint32_t id, std::string* entry) const = 0;
  // The id of (kind, payload) into `id`, 0 when the store has no such entry.
  virtual Status Find(char kind, std::string_view payload, uint32_t* id) const = 0;
  // Whether one pass over the index keys of `kind` reads less than `lookups` entries read one by
  // one would.
  virtual bool IndexPassCheaper(char kind, size_t lookups) const = 0;
  // Calls visit(payload, id) for each index key of `kind`, in key order, until it returns false.
  virtual Status ForEachIndexed(char kind, const std::function<bool(std::string_view, uint32_t)>& visit) const = 0;
};

class Dictionary final : public schema::Interner {
 public:
  // Whole: adds entry `id` read from the store; ids must arrive as 1, 2, 3, ...
  Status Load(uint32_t id, std::string_view entry);

  // Bounded: makes this (empty) dictionary one of a store open for writing, whose highest id is
  // `size`, keeping at most about `cache_bytes` of addresses and details. Then Restore each entry
  // of the store's index, in any order.
  void ReadBounded(std::unique_ptr<EntrySource> source, uint32_t size, size_t cache_bytes);
  Status Restore(uint32_t id, char kind, std::string_view payload);

  // Lazy: makes this (empty) dictionary read its entries from `source` when asked for them.
  // `size` is the highest id; `namespace_ids` every namespace entry's id. It cannot Intern.
  Status ReadLazily(std::unique_ptr<EntrySource> source, uint32_t size, std::vector<uint32_t> namespace_ids);

  uint32_t Intern(schema::EntryKind kind, std::string_view payload) override;
  // Bounded mode, cached kinds: loads the cache's table slots for the payload.
  void Prefetch(schema::EntryKind kind, std::string_view payload) override;
  // Ok, or why an Intern could not look an entry up in the store. It then returned a new id, which
  // may repeat a stored entry: the entries and events interned since must not be written.
  Status intern_status() const { return intern_status_; }

  // The entries interned since the last call, as (id, entry bytes), for the next write batch. The
  // views stay valid until MarkWritten names their ids.
  std::vector<std::pair<uint32_t, std::string_view>> TakePending();
  // Entries up to `id` are in the store: the cache may forget them. Any thread.
  void MarkWritten(uint32_t id) { written_.store(id, std::memory_order_release); }

  // Bounded mode: frees the cache of every entry already written, as at the end of a bulk load
  // (lookups find them through the index again). The writer thread.
  void ForgetWrittenCache();

  // Bytes held by cached entries (bounded mode), for tests and measurements.
  size_t cached_bytes() const { return young_.Bytes() + old_.Bytes(); }

  // A consistent read-only view; implements lookups both ways.
  class Reader final : public schema::EntryLookup {
   public:
    explicit Reader(const Dictionary& d) : dict_(d), lock_(d.mu_) {}
    std::optional<std::string_view> Payload(uint32_t id, schema::EntryKind kind) const override;
    // Payload of each of `ids`, in order, into `out`. A lazily read dictionary takes its lock
    // once for them all, where a Payload each took and released it (an answer lists thousands).
    void Payloads(std::span<const uint32_t> ids, schema::EntryKind kind,
                  std::vector<std::optional<std::string_view>>* out) const;
    // The id of (kind, payload), or 0 when the store has no such entry.
    uint32_t Find(schema::EntryKind kind, std::string_view payload) const;
    // Ids are 1 .. size().
    uint32_t size() const { return dict_.Size(); }
    // The kind byte and payload of entry `id` (1 <= id <= size()); empty if it could not be read.
    std::string_view Entry(uint32_t id) const;
    // Lazy mode: reads the entries `ids` (ascending) of `kind` before Payload asks for them, in
    // one pass over the index keys of `kind` where that reads less than a lookup each (an answer
    // naming thousands of IDs: one lookup each decompressed most of a store's dictionary, whose
    // entries of all kinds interleave by id). Entries the index does not name are left to Payload.
    // Other modes hold these kinds in memory: nothing to do.
    void Prefetch(schema::EntryKind kind, const std::vector<uint32_t>& ids) const;
    // How many of `ids` a lookup would read from the store (lazy mode; 0 in the others).
    size_t Unread(const std::vector<uint32_t>& ids) const;
    // Ok, or why an entry read from the store could not be read through this Reader (the lookup
    // then answered "no such entry"): check it before trusting an answer.
    Status status() const EXCLUDES(mu_);
    // The ids of every namespace entry, in id order.
    const std::vector<uint32_t>& NamespaceIds() const { return dict_.namespace_ids_; }

   private:
    void Failed(const Status& s) const EXCLUDES(mu_);
    // A bounded dictionary's entry that is not in memory, read from the store into read_.
    std::string_view ReadStored(uint32_t id) const EXCLUDES(mu_);

    const Dictionary& dict_;
    std::shared_lock<util::RwLock> lock_;
    mutable util::Mutex mu_;  // a query's scan threads share its Reader
    mutable Status error_ GUARDED_BY(mu_);
    mutable util::ByteArena read_bytes_ GUARDED_BY(mu_){4096};
    mutable std::unordered_map<uint32_t, const char*> read_ GUARDED_BY(mu_);
  };

 private:
  enum class Mode { kWhole, kBounded, kLazy };
  // One index per entry kind: the few IDs and namespaces every event looks up stay in a small,
  // cache-resident table instead of sharing one with hundreds of thousands of addresses.
  static constexpr size_t kKindSlots = 7;  // the six kinds of schema::EntryKind + unknown ones
  static size_t KindSlot(char kind);
  static uint64_t HashOf(std::string_view payload);
  static uint64_t HashOfId(uint32_t id) { return static_cast<uint64_t>(id * 0x9E3779B1u) << 32 | id; }
  // Bounded mode keeps these kinds (addresses, details) in the cache, the others in memory.
  static bool IsCachedKind(char kind);

  // An entry as kept in memory (arena bytes, which never move, so views handed out stay valid):
  // its id, a 4-byte length, then the entry — its kind byte and payload.
  static uint32_t IdOf(const char* at) {
    uint32_t id;
    std::memcpy(&id, at, 4);
    return id;
  }
  static std::string_view Stored(const char* at) {
    uint32_t size;
    std::memcpy(&size, at + 4, 4);
    return std::string_view(at + 8, size);
  }
  static const char* Keep(util::ByteArena* arena, uint32_t id, char kind, std::string_view payload);
  // The id of (kind, payload) among kept entries indexed by `index` (references into `kept`), or 0.
  static uint32_t FindKept(const util::HashIndex& index, const std::vector<const char*>& kept, char kind,
                           std::string_view payload, uint64_t hash);
  // Entry `id` from `read` (what was read before), else from `source` kept in `arena` and noted in
  // `read`; empty, and *error set, when it cannot be read (not noted: a later lookup tries again).
  static std::string_view ReadKept(const EntrySource& source, uint32_t id, util::ByteArena* arena,
                                   std::unordered_map<uint32_t, const char*>* read, Status* error);

  // The entries held in memory: all in whole mode, those of uncached kinds in bounded mode.
  uint32_t FindResident(char kind, std::string_view payload, uint64_t hash) const;
  const char* ResidentEntry(uint32_t id) const;
  const char* AddResident(uint32_t id, char kind, std::string_view payload, uint64_t hash);  // under mu_, exclusively

  // Bounded mode's cache of addresses and details: two generations. Entries go into the young
  // one; once it holds half the budget, the old one is forgotten and the young one becomes old,
  // unless the old one holds an entry not yet written (still pending, it may not be read back
  // from the store: it stays until written). An entry found in the old one is copied to the young.
  struct Generation {
    util::ByteArena bytes;
    std::vector<const char*> entries;  // reference r at entries[r - 1]
    util::HashIndex index;             // hash of payload -> reference
    uint32_t newest_created = 0;       // the highest id created (not found) in this generation
    uint32_t Find(char kind, std::string_view payload, uint64_t hash) const;
    const char* Add(uint32_t id, char kind, std::string_view payload, uint64_t hash);
    void Clear();  // keeps the arena's blocks and the vectors' capacity for the next generation
    // Bytes it holds: its entries with the ends of arena blocks they left, and the whole capacity
    // of its vector and index (a growing table is up to half empty).
    size_t Bytes() const {
      return bytes.used_bytes() + entries.capacity() * sizeof(const char*) + index.memory_bytes();
    }
  };
  uint32_t InternCached(char kind, std::string_view payload, uint64_t hash);
  // Adds an entry to the young generation, first making room if it is full.
  const char* AddCached(uint32_t id, char kind, std::string_view payload, uint64_t hash);

  uint32_t NextId();
  uint32_t Size() const { return size_.load(std::memory_order_acquire); }
  // Entry `id` or (empty, and *error set) why it could not be read. Failures are not kept: a
  // later query tries again.
  std::string_view LazyEntry(uint32_t id, Status* error) const EXCLUDES(lazy_mu_);
  // LazyEntry of each of `ids` (empty for an id past the dictionary), under one lock; stops at the
  // first error.
  void LazyEntries(std::span<const uint32_t> ids, std::vector<std::string_view>* out, Status* error) const
      EXCLUDES(lazy_mu_);
  Status LazyPrefetch(char kind, const std::vector<uint32_t>& ids) const EXCLUDES(lazy_mu_);
  std::vector<uint32_t> LazyUnread(const std::vector<uint32_t>& ids) const EXCLUDES(lazy_mu_);
  uint32_t LazyFind(char kind, std::string_view payload, Status* error) const EXCLUDES(lazy_mu_);

  Mode mode_ = Mode::kWhole;
  std::atomic<uint32_t> size_{0};        // the highest id; only the writer thread raises it
  std::unique_ptr<EntrySource> source_;  // bounded and lazy modes: the store's entries

  mutable util::RwLock mu_;  // writers preferred: a stream of queries cannot starve an import
  util::ByteArena bytes_;
  std::vector<const char*> resident_;              // reference r at resident_[r - 1]
  util::HashIndex by_id_;                          // HashOfId(id) -> reference
  std::array<util::HashIndex, kKindSlots> index_;  // per kind: hash of payload -> reference
  std::vector<uint32_t> namespace_ids_;            // sorted

  // The writer thread's alone (bounded mode).
  Generation young_, old_;
  size_t cache_bytes_ = 0;
  bool cache_complete_ = true;  // every cached-kind entry of the store is in the cache
  std::atomic<uint32_t> written_{0};
  std::vector<std::pair<uint32_t, std::string_view>> pending_;
  Status intern_status_;

  // Lazy mode: what lookups read is kept here.
  mutable util::Mutex lazy_mu_;
  mutable util::ByteArena lazy_bytes_ GUARDED_BY(lazy_mu_);
  mutable std::unordered_map<uint32_t, const char*> lazy_entries_ GUARDED_BY(lazy_mu_);
  mutable std::unordered_map<std::string, uint32_t> lazy_ids_ GUARDED_BY(lazy_mu_);  // kind + payload -> id
};

}  // namespace flowstat::storage
