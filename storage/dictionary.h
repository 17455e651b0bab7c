// The dictionary: every distinct string of the store (namespaces, IDs, tags, tag lists, IP
// addresses, details) gets a 32-bit id, persisted under 'D' keys. A store open for writing holds
// it in memory (interning must not wait for the disk); a read-only store reads entries from the
// store as lookups ask for them, so opening one costs the same whatever its size.
//
// Thread safety: one writer thread calls Intern/TakePending; any thread may hold a Reader.
// A Reader blocks new entries (not lookups) until it is destroyed: keep it for one query.
// Lookups of a lazily read dictionary may run on several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
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
};

class Dictionary final : public schema::Interner {
 public:
  // Makes this (empty) dictionary read its entries from `source` when asked for them. `size` is
  // the highest id; `namespace_ids` every namespace entry's id. Such a dictionary cannot Intern.
  Status ReadLazily(std::unique_ptr<EntrySource> source, uint32_t size, std::vector<uint32_t> namespace_ids);

  // Adds entry `id` read from the store; ids must arrive as 1, 2, 3, ...
  Status Load(uint32_t id, std::string_view entry);

  uint32_t Intern(schema::EntryKind kind, std::string_view payload) override;

  // The entries interned since the last call, as (id, entry bytes), for the next write batch.
  std::vector<std::pair<uint32_t, std::string_view>> TakePending();

  // A consistent read-only view; implements lookups both ways.
  class Reader final : public schema::EntryLookup {
   public:
    explicit Reader(const Dictionary& d) : dict_(d), lock_(d.mu_) {}
    std::optional<std::string_view> Payload(uint32_t id, schema::EntryKind kind) const override;
    // The id of (kind, payload), or 0 when the store has no such entry.
    uint32_t Find(schema::EntryKind kind, std::string_view payload) const;
    // Ids are 1 .. size().
    uint32_t size() const { return dict_.Size(); }
    // The kind byte and payload of entry `id` (1 <= id <= size()); empty if it could not be read.
    std::string_view Entry(uint32_t id) const;
    // Ok, or why an entry of a lazily read dictionary could not be read through this Reader (the
    // lookup then answered "no such entry"): check it before trusting an answer.
    Status status() const EXCLUDES(error_mu_);
    // The ids of every namespace entry, in id order.
    const std::vector<uint32_t>& NamespaceIds() const { return dict_.namespace_ids_; }

   private:
    void Failed(const Status& s) const EXCLUDES(error_mu_);

    const Dictionary& dict_;
    std::shared_lock<util::RwLock> lock_;
    mutable util::Mutex error_mu_;  // a query's scan threads share its Reader
    mutable Status error_ GUARDED_BY(error_mu_);
  };

 private:
  // One index per entry kind: the few IDs and namespaces every event looks up stay in a small,
  // cache-resident table instead of sharing one with hundreds of thousands of addresses.
  static constexpr size_t kKindSlots = 7;  // the six kinds of schema::EntryKind + unknown ones
  static size_t KindSlot(char kind);
  static uint64_t HashOf(std::string_view payload);
  uint32_t FindLocked(char kind, std::string_view payload, uint64_t hash) const;
  void Add(char kind, std::string_view payload, uint64_t hash);

  uint32_t Size() const { return lazy_ ? lazy_size_ : static_cast<uint32_t>(entries_.size()); }
  // An entry as kept in bytes_ (which never move, so views handed out stay valid): a 4-byte
  // length, then the entry — its kind byte and payload.
  static std::string_view Stored(const char* at) {
    uint32_t size;
    std::memcpy(&size, at, 4);
    return std::string_view(at + 4, size);
  }
  // Entry `id` or (empty, and *error set) why it could not be read. Failures are not kept: a
  // later query tries again.
  std::string_view LazyEntry(uint32_t id, Status* error) const EXCLUDES(lazy_mu_);
  uint32_t LazyFind(char kind, std::string_view payload, Status* error) const EXCLUDES(lazy_mu_);

  mutable util::RwLock mu_;           // writers preferred: a stream of queries cannot starve an import
  std::vector<const char*> entries_;  // entry id i at entries_[i - 1]
  util::ByteArena bytes_;

  // A lazily read dictionary: entries_ and index_ stay empty, what lookups read is kept here.
  std::unique_ptr<EntrySource> lazy_;
  uint32_t lazy_size_ = 0;
  mutable util::Mutex lazy_mu_;
  mutable util::ByteArena lazy_bytes_ GUARDED_BY(lazy_mu_);
  mutable std::unordered_map<uint32_t, const char*> lazy_entries_ GUARDED_BY(lazy_mu_);
  mutable std::unordered_map<std::string, uint32_t> lazy_ids_ GUARDED_BY(lazy_mu_);  // kind + payload -> id
  std::array<util::HashIndex, kKindSlots> index_;                                    // per kind: hash of payload -> id
  std::vector<uint32_t> namespace_ids_;
  uint32_t persisted_ = 0;  // entries with id <= persisted_ are in the store
};

}  // namespace flowstat::storage
