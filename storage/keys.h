// Encoding of the RocksDB keys of storage/format.h. All integers are big-endian so that byte
// order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/format.h"

namespace flowstat::storage {

// XXH64 with kHashSeed: the fixed-width key part of a string.
uint64_t HashString(std::string_view s);

std::string ChunkKey(uint64_t namespace_hash, uint8_t shard, uint32_t hour);
// False if `key` is not a well-formed chunk key.
bool ParseChunkKey(std::string_view key, uint64_t* namespace_hash, uint8_t* shard, uint32_t* hour);

// A generation or rollup key: prefix + namespace hash + hour (for the day rollup prefixes 'r',
// 'i', 'q': + day).
std::string HourKey(char prefix, uint64_t namespace_hash, uint32_t hour);
bool ParseHourKey(std::string_view key, char prefix, uint64_t* namespace_hash, uint32_t* hour);

// A generation counter: key 'g' + namespace hash + hour, value its count as fixed64. Its value,
// or nullopt when not 8 bytes; ParseGeneration: false when the key or the value is malformed.
std::optional<uint64_t> GenerationValue(std::string_view value);
bool ParseGeneration(std::string_view key, std::string_view value, uint64_t* namespace_hash, uint32_t* hour,
                     uint64_t* generation);

// 'H' kind namespace: a horizon record (format.h).
std::string HorizonKey(uint8_t kind, std::string_view ns);
bool ParseHorizonKey(std::string_view key, uint8_t* kind, std::string_view* ns);

std::string DictionaryKey(uint32_t id);
// 'X' kind payload -> id: the entry index (format.h).
std::string EntryIndexKey(char kind, std::string_view payload);
std::string EntryIndexValue(uint32_t id);
// False if `value` is not a well-formed entry index value.
bool ParseEntryIndexValue(std::string_view value, uint32_t* id);
// Whether a store indexing `indexed_kinds` (kIndexedEntryKinds, or an older format's) has 'X' keys for `kind`.
inline bool IsIndexedEntryKind(char kind, std::string_view indexed_kinds = kIndexedEntryKinds) {
  return indexed_kinds.find(kind) != std::string_view::npos;
}
std::string CheckpointKey(std::string_view name);
bool ParseDictionaryKey(std::string_view key, uint32_t* id);

std::string PresenceKey(uint8_t kind, uint64_t item_hash, uint32_t day, uint64_t namespace_hash);
bool ParsePresenceKey(std::string_view key, uint8_t* kind, uint64_t* item_hash, uint32_t* day,
                      uint64_t* namespace_hash);

inline uint32_t HourOf(int64_t time_ms) { return static_cast<uint32_t>(time_ms / kChunkMs); }
inline uint32_t DayOf(int64_t time_ms) { return static_cast<uint32_t>(time_ms / kPresenceMs); }

}  // namespace flowstat::storage
