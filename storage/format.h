// The on-disk layout of a flowstat store, version 5 (version 4 indexes only some entry kinds,
// version 3 has no entry index, version 2 also no horizon records). Every constant here is drawn
// byte by byte in doc/storage-format.md under the same name. DO NOT CHANGE without bumping kFormatVersion.
#pragma once

#include <cstdint>
#include <string_view>

#include "flowstat/version.h"

namespace flowstat::storage {

inline constexpr uint32_t kFormatVersion = kStoreFormatVersion;  // flowstat/version.h

// First byte of every RocksDB key: the key's kind.
inline constexpr char kMetaPrefix = 'M';        // 'M' "format"       -> kFormatDescription
inline constexpr char kDictionaryPrefix = 'D';  // 'D' id:u32 BE      -> kind byte + payload
inline constexpr char kChunkPrefix = 'C';       // 'C' ns:u64 BE shard:u8 hour:u32 BE -> fb::Chunk
inline constexpr char kPresencePrefix = 'P';    // 'P' kind:u8 item:u64 BE day:u32 BE ns:u64 BE -> ""
inline constexpr char kGenerationPrefix = 'G';  // 'G' ns:u64 BE hour:u32 BE -> u64 LE (merge: add)
inline constexpr char kSummaryPrefix = 'R';     // 'R' ns:u64 BE hour:u32 BE -> fb::RollupSummary
inline constexpr char kIdsPrefix = 'I';         // 'I' ns:u64 BE hour:u32 BE -> fb::RollupIds
inline constexpr char kPairsPrefix = 'Q';       // 'Q' ns:u64 BE hour:u32 BE -> fb::RollupPairs
inline constexpr char kDaySummaryPrefix = 'r';  // 'r' ns:u64 BE day:u32 BE  -> fb::RollupSummary
inline constexpr char kDayIdsPrefix = 'i';      // 'i' ns:u64 BE day:u32 BE  -> fb::RollupIds
inline constexpr char kCheckpointPrefix = 'K';  // 'K' name          -> the value a loader attached
inline constexpr size_t kMaxCheckpointName = 256;
inline constexpr char kDayPairsPrefix = 'q';    // 'q' ns:u64 BE day:u32 BE  -> fb::RollupPairs
inline constexpr char kHorizonPrefix = 'H';     // 'H' kind:u8 namespace -> before_ms:u64 LE
inline constexpr char kEntryIndexPrefix = 'X';  // 'X' kind:u8 payload  -> id:u32 BE
inline constexpr char kMinutesPrefix = 'm';     // 'm' ns:u64 BE hour:u32 BE -> fb::RollupMinutes

// The dictionary entry kinds the 'X' index covers (schema::EntryKind): every kind, so that a writer
// can find an entry it does not keep in memory.
inline constexpr std::string_view kIndexedEntryKinds = "nitlad";
// Format 4 indexed only the kinds a query names.
inline constexpr std::string_view kIndexedEntryKindsV4 = "nit";

// Kinds of horizon records: what expiry removed from a namespace subtree, before an instant.
inline constexpr uint8_t kHorizonRaw = 'r';  // raw events (chunks) gone, hour and day rollups kept
inline constexpr uint8_t kHorizonAll = 'a';  // everything gone: raw events and rollups

// The key prefixes of the rollups of one hour (four) or one day (three: no minutes).
struct RollupPrefixes {
  char summary, ids, pairs, minutes;  // minutes 0: none
};
inline constexpr RollupPrefixes kHourRollups{kSummaryPrefix, kIdsPrefix, kPairsPrefix, kMinutesPrefix};
inline constexpr RollupPrefixes kDayRollups{kDaySummaryPrefix, kDayIdsPrefix, kDayPairsPrefix, 0};
inline constexpr int64_t kMinuteMs = 60000;  // the resolution of minute rollups
inline constexpr int kMinutesPerHour = 60;

inline constexpr std::string_view kFormatKey = "Mformat";
// The meta value: names the version and every parameter a reader must agree with.
inline constexpr std::string_view kFormatDescription =
    "flowstat-store 5; hash=XXH64 seed=0; chunk=3600000ms; shards=16; presence=86400000ms; record=56; "
    "rollup=60000ms,3600000ms,86400000ms; index=nitlad";
// A version-4 store differs by indexing only namespaces, IDs and tags: read-only it is read as it
// is; opened for writing, the index keys of its other entries are written (in batches: writing a
// key twice is harmless) before this record is rewritten.
inline constexpr std::string_view kFormatDescriptionV4 =
    "flowstat-store 4; hash=XXH64 seed=0; chunk=3600000ms; shards=16; presence=86400000ms; record=56; "
    "rollup=60000ms,3600000ms,86400000ms; index=nit";
// A version-3 store differs by lacking the 'X' entry index and minute rollups ('m'), a version-2
// store also by never holding horizon records: both are read as they are (the dictionary loaded
// whole), and upgraded like a version-4 store when opened for writing. Their hours gain minute rollups when next
// written or compacted (where their raw events are kept); until then those hours are read raw where minutes are needed.
inline constexpr std::string_view kFormatDescriptionV3 =
    "flowstat-store 3; hash=XXH64 seed=0; chunk=3600000ms; shards=16; presence=86400000ms; record=56; "
    "rollup=3600000ms,86400000ms";
inline constexpr std::string_view kFormatDescriptionV2 =
    "flowstat-store 2; hash=XXH64 seed=0; chunk=3600000ms; shards=16; presence=86400000ms; record=56; "
    "rollup=3600000ms,86400000ms";
static_assert(kFormatDescription.substr(0, 15) == "flowstat-store " && kFormatDescription[16] == ';' &&
                  kFormatDescription[15] - '0' == kStoreFormatVersion,
              "the format record names the format version of flowstat/version.h");

inline constexpr uint64_t kHashSeed = 0;
inline constexpr int64_t kChunkMs = 3600000;      // a chunk holds one hour of one namespace
inline constexpr int64_t kPresenceMs = 86400000;  // presence keys cover one day
inline constexpr int64_t kDayMs = 86400000;       // day rollups cover one day
inline constexpr uint32_t kHoursPerDay = 24;

// Kinds of presence keys: an item that occurs in some event of (namespace hash, day).
inline constexpr uint8_t kPresenceSourceId = 's';
inline constexpr uint8_t kPresenceDestinationId = 'd';
inline constexpr uint8_t kPresenceSourceTag = 'S';
inline constexpr uint8_t kPresenceDestinationTag = 'D';

inline constexpr size_t kChunkKeySize = 14;

// Chunks are split by source: shard = the top 4 bits of XXH64(sourceID), so a query for a few
// sources reads 1/16 of a namespace's bytes per source.
inline constexpr int kSourceShards = 16;
inline uint8_t SourceShard(uint64_t source_hash) { return static_cast<uint8_t>(source_hash >> 60); }
inline constexpr size_t kPresenceKeySize = 22;
inline constexpr size_t kHourKeySize = 13;  // generation and rollup keys (hour or day)

}  // namespace flowstat::storage
