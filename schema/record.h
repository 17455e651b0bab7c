// The stored form of a flow event: a fixed-size fb::EventRecord whose strings are dictionary ids.
// Layout and flag bits are part of the on-disk format (doc/storage-format.md): DO NOT CHANGE.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flow_event_generated.h"
#include "flowstat/event.h"
#include "schema/event_view.h"
#include "util/hash_index.h"

namespace flowstat::schema {

using fb::EventRecord;

// Bits of EventRecord::flags.
inline constexpr uint16_t kFlagReject = 1u << 0;       // action == Reject
inline constexpr uint16_t kFlagObserved = 1u << 1;     // observed == true
inline constexpr int kObservedActionShift = 2;         // 2 bits: ObservedAction
inline constexpr uint16_t kFlagHasPort = 1u << 4;      // destination_port is present
inline constexpr uint16_t kFlagHasProtocol = 1u << 5;  // protocol is present
inline constexpr uint16_t kFlagHasEncrypted = 1u << 6;
inline constexpr uint16_t kFlagEncrypted = 1u << 7;
inline constexpr uint16_t kFlagHasObservedEncrypted = 1u << 8;
inline constexpr uint16_t kFlagObservedEncrypted = 1u << 9;
// The address field holds the address itself, not a dictionary id: set for an IPv4 address in
// canonical dotted-decimal form (see InlineIpv4), the one text that decodes back to itself.
inline constexpr uint16_t kFlagSourceIpv4 = 1u << 10;
inline constexpr uint16_t kFlagDestinationIpv4 = 1u << 11;

// The value of `address` when it is an IPv4 address in canonical dotted-decimal form — four
// decimal numbers 0..255 without leading zeros, separated by '.' ("10.0.0.1", not "10.00.0.1")
// — as a.b.c.d -> a << 24 | b << 16 | c << 8 | d; nullopt for any other text.
std::optional<uint32_t> InlineIpv4(std::string_view address);
// The canonical text of an inline IPv4 address.
std::string FormatIpv4(uint32_t address);

// Dictionary entries start with one byte naming their kind; the payload follows.
enum class EntryKind : char {
  kNamespace = 'n',  // the namespace string
  kEntityId = 'i',   // a source or destination ID
  kTag = 't',        // one "key=value" tag
  kTagList = 'l',    // a tag list: its tag ids as uint32 little-endian, in reported order
  kAddress = 'a',    // an IP address string
  kDetails = 'd',    // an fb::EventDetails buffer
};

// Assigns dictionary ids (>= 1) to entries; equal entries get equal ids.
class Interner {
 public:
  virtual ~Interner() = default;
  virtual uint32_t Intern(EntryKind kind, std::string_view payload) = 0;
  // A hint that Intern(kind, payload) follows shortly: the interner may start loading what that
  // lookup will read, so the wait overlaps the work in between.
  virtual void Prefetch(EntryKind /*kind*/, std::string_view /*payload*/) {}
};

// Reads dictionary entries back. Returns the payload (without the kind byte), or nullopt when
// `id` is unknown or of another kind.
class EntryLookup {
 public:
  virtual ~EntryLookup() = default;
  virtual std::optional<std::string_view> Payload(uint32_t id, EntryKind kind) const = 0;
};

inline ObservedAction ObservedActionOf(const EventRecord& r) {
  return static_cast<ObservedAction>((r.flags() >> kObservedActionShift) & 3u);
}
inline bool IsReject(const EventRecord& r) { return (r.flags() & kFlagReject) != 0; }
inline bool HasPort(const EventRecord& r) { return (r.flags() & kFlagHasPort) != 0; }

// Encodes validated events, interning their strings. Remembers the tag lists it has seen, so an
// event costs a handful of hash lookups. One writer thread.
class RecordEncoder {
 public:
  explicit RecordEncoder(Interner& interner) : interner_(interner) {}
  EventRecord Encode(const EventView& event);

 private:
  // Tag list text (the length-prefixed tags) -> dictionary id; a cache, not persisted.
  class Cache {
   public:
    uint32_t Find(std::string_view key, uint64_t hash) const;  // 0 when absent
    void Insert(std::string_view key, uint64_t hash, uint32_t id);

   private:
    static constexpr size_t kMaxCached = 1 << 16;  // beyond, the cache starts over: bounded memory
    util::HashIndex index_;
    std::vector<std::string> keys_;  // reference r is keys_[r - 1]
    std::vector<uint32_t> ids_;
  };

  uint32_t TagList(const std::vector<std::string_view>& tags);
  // The address field for `address` (an inline IPv4 address, or a dictionary id; 0 when absent);
  // sets `inline_flag` in `flags` when inline.
  uint32_t Address(const std::optional<std::string_view>& address, uint16_t inline_flag, uint16_t* flags);
  // The details entry's payload, built in details_ (valid until the next call); empty when the
  // event has no details.
  std::string_view DetailsPayload(const EventView& event);

  Interner& interner_;
  Cache tag_lists_;
  std::string key_;
  // Details are interned as their (deterministic) FlatBuffer: building one costs less than a
  // cache of raw detail texts would, in time and in memory.
  flatbuffers::FlatBufferBuilder details_{256};
};

// Decodes a record; Corruption if it references an unknown dictionary entry.
Status DecodeEvent(const EventRecord& record, const EntryLookup& lookup, FlowEvent* event);

// The total order of records inside a chunk: (source_id, destination_id, time_ms, the rest).
// Two records compare equal iff they encode the same event.
inline int CompareRecords(const EventRecord& a, const EventRecord& b) {
  // Field by field, most selective first; one comparison per field (a tuple's < compares twice).
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (int c = cmp(a.source_id(), b.source_id())) return c;
  if (int c = cmp(a.destination_id(), b.destination_id())) return c;
  if (int c = cmp(a.time_ms(), b.time_ms())) return c;
  if (int c = cmp(a.namespace_id(), b.namespace_id())) return c;
  if (int c = cmp(a.value(), b.value())) return c;
  if (int c = cmp(a.destination_port(), b.destination_port())) return c;
  if (int c = cmp(a.flags(), b.flags())) return c;
  if (int c = cmp(a.protocol(), b.protocol())) return c;
  if (int c = cmp(a.endpoint_types(), b.endpoint_types())) return c;
  if (int c = cmp(a.source_tags(), b.source_tags())) return c;
  if (int c = cmp(a.destination_tags(), b.destination_tags())) return c;
  if (int c = cmp(a.source_ip(), b.source_ip())) return c;
  if (int c = cmp(a.destination_ip(), b.destination_ip())) return c;
  return cmp(a.details(), b.details());
}
inline bool RecordLess(const EventRecord& a, const EventRecord& b) { return CompareRecords(a, b) < 0; }

}  // namespace flowstat::schema
