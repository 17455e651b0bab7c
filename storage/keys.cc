#include "storage/keys.h"

#include <xxhash.h>

namespace flowstat::storage {
namespace {

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

}  // namespace

uint64_t HashString(std::string_view s) { return XXH64(s.data(), s.size(), kHashSeed); }

std::string ChunkKey(uint64_t namespace_hash, uint8_t shard, uint32_t hour) {
  std::string k;
  k.reserve(kChunkKeySize);
  k.push_back(kChunkPrefix);
  PutBE(&k, namespace_hash, 8);
  PutBE(&k, shard, 1);
  PutBE(&k, hour, 4);
  return k;
}

bool ParseChunkKey(std::string_view key, uint64_t* namespace_hash, uint8_t* shard, uint32_t* hour) {
  if (key.size() != kChunkKeySize || key[0] != kChunkPrefix) return false;
  *namespace_hash = GetBE(key, 1, 8);
  *shard = static_cast<uint8_t>(GetBE(key, 9, 1));
  *hour = static_cast<uint32_t>(GetBE(key, 10, 4));
  return *shard < kSourceShards;
}

std::string HourKey(char prefix, uint64_t namespace_hash, uint32_t hour) {
  std::string k;
  k.reserve(kHourKeySize);
  k.push_back(prefix);
  PutBE(&k, namespace_hash, 8);
  PutBE(&k, hour, 4);
  return k;
}

bool ParseHourKey(std::string_view key, char prefix, uint64_t* namespace_hash, uint32_t* hour) {
  if (key.size() != kHourKeySize || key[0] != prefix) return false;
  *namespace_hash = GetBE(key, 1, 8);
  *hour = static_cast<uint32_t>(GetBE(key, 9, 4));
  return true;
}

std::string DictionaryKey(uint32_t id) {
  std::string k(1, kDictionaryPrefix);
  PutBE(&k, id, 4);
  return k;
}

bool ParseDictionaryKey(std::string_view key, uint32_t* id) {
  if (key.size() != 5 || key[0] != kDictionaryPrefix) return false;
  *id = static_cast<uint32_t>(GetBE(key, 1, 4));
  return true;
}

std::string PresenceKey(uint8_t kind, uint64_t item_hash, uint32_t day, uint64_t namespace_hash) {
  std::string k;
  k.reserve(kPresenceKeySize);
  k.push_back(kPresencePrefix);
  k.push_back(static_cast<char>(kind));
  PutBE(&k, item_hash, 8);
  PutBE(&k, day, 4);
  PutBE(&k, namespace_hash, 8);
  return k;
}

bool ParsePresenceKey(std::string_view key, uint8_t* kind, uint64_t* item_hash, uint32_t* day,
                      uint64_t* namespace_hash) {
  if (key.size() != kPresenceKeySize || key[0] != kPresencePrefix) return false;
  *kind = static_cast<uint8_t>(key[1]);
  *item_hash = GetBE(key, 2, 8);
  *day = static_cast<uint32_t>(GetBE(key, 10, 4));
  *namespace_hash = GetBE(key, 14, 8);
  return true;
}

}  // namespace flowstat::storage
