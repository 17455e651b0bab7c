// The dictionary: every distinct string of the store (namespaces, IDs, tags, tag lists, IP
// addresses, details) gets a 32-bit id, persisted under 'D' keys and held in memory.
//
// Thread safety: one writer thread calls Intern/TakePending; any thread may hold a Reader.
// A Reader blocks new entries (not lookups) until it is destroyed: keep it for one query.
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
#include <vector>

#include "schema/record.h"
#include "util/byte_arena.h"
#include "util/hash_index.h"
#include "util/rw_lock.h"

namespace flowstat::storage {

class Dictionary final : public schema::Interner {
 public:
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
    uint32_t size() const { return static_cast<uint32_t>(dict_.entries_.size()); }
    // The kind byte and payload of entry `id` (1 <= id <= size()).
    std::string_view Entry(uint32_t id) const { return dict_.EntryAt(id); }
    // The ids of every namespace entry, in id order.
    const std::vector<uint32_t>& NamespaceIds() const { return dict_.namespace_ids_; }

   private:
    const Dictionary& dict_;
    std::shared_lock<util::RwLock> lock_;
  };

 private:
  // One index per entry kind: the few IDs and namespaces every event looks up stay in a small,
  // cache-resident table instead of sharing one with hundreds of thousands of addresses.
  static constexpr size_t kKindSlots = 7;  // the six kinds of schema::EntryKind + unknown ones
  static size_t KindSlot(char kind);
  static uint64_t HashOf(std::string_view payload);
  uint32_t FindLocked(char kind, std::string_view payload, uint64_t hash) const;
  void Add(char kind, std::string_view payload, uint64_t hash);

  mutable util::RwLock mu_;  // writers preferred: a stream of queries cannot starve an import
  // Entry id i starts at entries_[i - 1] in bytes_ (which never move, so views handed out stay
  // valid): a 4-byte length, then the entry — its kind byte and payload.
  std::string_view EntryAt(uint32_t id) const {
    const char* at = entries_[id - 1];
    uint32_t size;
    std::memcpy(&size, at, 4);
    return std::string_view(at + 4, size);
  }
  std::vector<const char*> entries_;
  util::ByteArena bytes_;
  std::array<util::HashIndex, kKindSlots> index_;  // per kind: hash of payload -> id
  std::vector<uint32_t> namespace_ids_;
  uint32_t persisted_ = 0;  // entries with id <= persisted_ are in the store
};

}  // namespace flowstat::storage
