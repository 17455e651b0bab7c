#include "storage/keys.h"

#include "util/coding.h"

#include <xxhash.h>

namespace flowstat::storage {
namespace {}  // namespace

uint64_t HashString(std::string_view s) { return XXH64(s.data(), s.size(), kHashSeed); }

std::string ChunkKey(uint64_t namespace_hash, uint8_t shard, uint32_t hour) {
  std::string k;
  k.reserve(kChunkKeySize);
  k.push_back(kChunkPrefix);
  util::PutBigEndian(&k, namespace_hash, 8);
  util::PutBigEndian(&k, shard, 1);
  util::PutBigEndian(&k, hour, 4);
  return k;
}

bool ParseChunkKey(std::string_view key, uint64_t* namespace_hash, uint8_t* shard, uint32_t* hour) {
  if (key.size() != kChunkKeySize || key[0] != kChunkPrefix) return false;
  *namespace_hash = util::GetBigEndian(key, 1, 8);
  *shard = static_cast<uint8_t>(util::GetBigEndian(key, 9, 1));
  *hour = static_cast<uint32_t>(util::GetBigEndian(key, 10, 4));
  return *shard < kSourceShards;
}

std::string HourKey(char prefix, uint64_t namespace_hash, uint32_t hour) {
  std::string k;
  k.reserve(kHourKeySize);
  k.push_back(prefix);
  util::PutBigEndian(&k, namespace_hash, 8);
  util::PutBigEndian(&k, hour, 4);
  return k;
}

bool ParseHourKey(std::string_view key, char prefix, uint64_t* namespace_hash, uint32_t* hour) {
  if (key.size() != kHourKeySize || key[0] != prefix) return false;
  *namespace_hash = util::GetBigEndian(key, 1, 8);
  *hour = static_cast<uint32_t>(util::GetBigEndian(key, 9, 4));
  return true;
}

std::optional<uint64_t> GenerationValue(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return util::DecodeFixed64(value.data());
}

bool ParseGeneration(std::string_view key, std::string_view value, uint64_t* namespace_hash, uint32_t* hour,
                     uint64_t* generation) {
  const auto count = GenerationValue(value);
  if (!count || !ParseHourKey(key, kGenerationPrefix, namespace_hash, hour)) return false;
  *generation = *count;
  return true;
}

std::string HorizonKey(uint8_t kind, std::string_view ns) {
  std::string k(1, kHorizonPrefix);
  k += static_cast<char>(kind);
  k += ns;
  return k;
}

bool ParseHorizonKey(std::string_view key, uint8_t* kind, std::string_view* ns) {
  if (key.size() < 3 || key[0] != kHorizonPrefix || key[2] != '/') return false;
  *kind = static_cast<uint8_t>(key[1]);
  *ns = key.substr(2);
  return *kind == kHorizonRaw || *kind == kHorizonAll;
}

std::string CheckpointKey(std::string_view name) {
  std::string k(1, kCheckpointPrefix);
  k += name;
  return k;
}

std::string DictionaryKey(uint32_t id) {
  std::string k(1, kDictionaryPrefix);
  util::PutBigEndian(&k, id, 4);
  return k;
}

std::string EntryIndexKey(char kind, std::string_view payload) {
  std::string k{kEntryIndexPrefix, kind};
  k.append(payload);
  return k;
}

std::string EntryIndexValue(uint32_t id) {
  std::string v;
  util::PutBigEndian(&v, id, 4);
  return v;
}

bool ParseEntryIndexValue(std::string_view value, uint32_t* id) {
  if (value.size() != 4) return false;
  *id = static_cast<uint32_t>(util::GetBigEndian(value, 0, 4));
  return true;
}

bool ParseDictionaryKey(std::string_view key, uint32_t* id) {
  if (key.size() != 5 || key[0] != kDictionaryPrefix) return false;
  *id = static_cast<uint32_t>(util::GetBigEndian(key, 1, 4));
  return true;
}

std::string PresenceKey(uint8_t kind, uint64_t item_hash, uint32_t day, uint64_t namespace_hash) {
  std::string k;
  k.reserve(kPresenceKeySize);
  k.push_back(kPresencePrefix);
  k.push_back(static_cast<char>(kind));
  util::PutBigEndian(&k, item_hash, 8);
  util::PutBigEndian(&k, day, 4);
  util::PutBigEndian(&k, namespace_hash, 8);
  return k;
}

bool ParsePresenceKey(std::string_view key, uint8_t* kind, uint64_t* item_hash, uint32_t* day,
                      uint64_t* namespace_hash) {
  if (key.size() != kPresenceKeySize || key[0] != kPresencePrefix) return false;
  *kind = static_cast<uint8_t>(key[1]);
  *item_hash = util::GetBigEndian(key, 2, 8);
  *day = static_cast<uint32_t>(util::GetBigEndian(key, 10, 4));
  *namespace_hash = util::GetBigEndian(key, 14, 8);
  return true;
}

}  // namespace flowstat::storage
