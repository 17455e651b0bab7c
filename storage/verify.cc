// Store::Verify: every byte of the store checked against doc/storage-format.md.
#include <rocksdb/db.h>

#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "schema/chunk.h"
#include "schema/flatbuffer_view.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "storage/rollup.h"
#include "storage/rollup_cursor.h"
#include "util/coding.h"

namespace flowstat::storage {
namespace {

std::string Hex(std::string_view key) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key.substr(0, 24)) out += {kHex[c >> 4], kHex[c & 15]};
  return out;
}

// Checks one chunk's records: order, uniqueness, dictionary references.
void CheckRecords(std::span<const schema::EventRecord> records, const Dictionary::Reader& d, const std::string& where,
                  std::vector<std::string>* problems) {
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (i > 0 && schema::CompareRecords(records[i - 1], r) >= 0) {
      problems->push_back(where + ": records out of order or duplicated at " + std::to_string(i));
      return;
    }
    FlowEvent e;
    Status s = schema::DecodeEvent(r, d, &e);
    if (!s.ok()) {
      problems->push_back(where + ": record " + std::to_string(i) + ": " + s.message());
      return;
    }
  }
}

}  // namespace

Status EventStore::Verify(std::vector<std::string>* problems, uint64_t* keys_checked) const {
  rocksdb::Status rs = db_->VerifyChecksum();
  if (!rs.ok()) problems->push_back("checksums: " + rs.ToString());
  ReadView view(*this, /*fill_cache=*/false);
  const Dictionary::Reader& d = view.dictionary();
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snapshot_;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  // (namespace hash, hour) of every chunk, and of every generation counter: a few bytes per hour
  // of a namespace, never the events (those are read again an hour at a time below).
  std::set<std::pair<uint64_t, uint32_t>> chunk_hours;
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> generations;
  std::vector<uint64_t> scratch;
  uint64_t checked = 0;
  // Formats 4 and later: every entry of an indexed kind has its 'X' key and no other entry does.
  const bool indexed_format = !indexed_kinds_.empty();
  uint64_t indexed_entries = 0, index_keys = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++checked;
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    const std::string where = "key " + Hex(key);
    uint64_t ns, item;
    uint32_t hour, id, day;
    uint8_t shard, kind;
    switch (key[0]) {
      case kMetaPrefix:
        if (key != kFormatKey || (value != kFormatDescription && value != kFormatDescriptionV4 &&
                                  value != kFormatDescriptionV3 && value != kFormatDescriptionV2)) {
          problems->push_back(where + ": unexpected meta record");
        }
        break;
      case kDictionaryPrefix:
        if (!ParseDictionaryKey(key, &id) || id > d.size() || d.Entry(id) != value) {
          problems->push_back(where + ": dictionary entry differs from the loaded dictionary");
        } else if (IsIndexedEntryKind(value[0], indexed_kinds_)) {
          ++indexed_entries;
          if (d.Find(static_cast<schema::EntryKind>(value[0]), value.substr(1)) != id) {
            problems->push_back(where + ": the dictionary does not find this entry by its text");
          }
        }
        break;
      case kEntryIndexPrefix:
        ++index_keys;
        if (key.size() < 2 || !ParseEntryIndexValue(value, &id) || !IsIndexedEntryKind(key[1], indexed_kinds_) ||
            id == 0 || id > d.size() || d.Entry(id) != key.substr(1)) {
          problems->push_back(where + ": entry index key names no such dictionary entry");
        }
        break;
      case kChunkPrefix: {
        std::span<const schema::EventRecord> records;
        if (!ParseChunkKey(key, &ns, &shard, &hour)) {
          problems->push_back(where + ": malformed chunk key");
        } else if (Status s = schema::ReadChunk(value, &scratch, &records); !s.ok()) {
          problems->push_back(where + ": " + s.message());
        } else {
          CheckRecords(records, d, where, problems);
          chunk_hours.insert({ns, hour});
        }
        break;
      }
      case kHorizonPrefix: {
        std::string_view horizon_ns;
        if (!ParseHorizonKey(key, &kind, &horizon_ns) || value.size() != 8) {
          problems->push_back(where + ": malformed horizon record");
        }
        break;
      }
      case kCheckpointPrefix:
        if (key.size() < 2 || key.size() > 1 + kMaxCheckpointName)
          problems->push_back(where + ": malformed checkpoint key");
        break;
      case kPresencePrefix:
        if (!ParsePresenceKey(key, &kind, &item, &day, &ns) || !value.empty()) {
          problems->push_back(where + ": malformed presence key");
        }
        break;
      case kGenerationPrefix: {
        uint64_t generation;
        if (!ParseGeneration(key, value, &ns, &hour, &generation)) {
          problems->push_back(where + ": malformed generation key");
        } else {
          generations[{ns, hour}] = generation;
        }
        break;
      }
      case kSummaryPrefix:
      case kIdsPrefix:
      case kPairsPrefix:
      case kDaySummaryPrefix:
      case kDayIdsPrefix:
      case kDayPairsPrefix:
      case kMinutesPrefix:
        if (!ParseHourKey(key, key[0], &ns, &hour)) problems->push_back(where + ": malformed rollup key");
        break;
      default:
        problems->push_back(where + ": unknown key kind");
    }
  }
  if (!it->status().ok()) problems->push_back("scan: " + it->status().ToString());
  if (indexed_format && index_keys != indexed_entries) {
    problems->push_back("entry index: " + std::to_string(index_keys) + " keys for " + std::to_string(indexed_entries) +
                        " indexed dictionary entries");
  }
  if (Status s = d.status(); !s.ok()) problems->push_back("dictionary: " + s.message());
  // Below a raw horizon the rollups stand for events that are gone: nothing to check them against.
  const std::map<uint64_t, uint32_t> raw_horizon_hour = RawHorizonHours(d);
  auto raw_kept = [&](uint64_t ns, uint32_t hour) {
    auto it = raw_horizon_hour.find(ns);
    return it == raw_horizon_hour.end() || hour >= it->second;
  };
  // Rollups against the raw events they stand for: a current rollup must be what RollupBuilder
  // makes of the period's chunks now.
  auto check = [&](RollupPrefixes prefixes, uint64_t ns, uint32_t unit, uint64_t generation, RollupBuilder& built,
                   const std::string& what) {
    std::string values[3], minutes;
    bool present = false;
    const char keys[3] = {prefixes.summary, prefixes.ids, prefixes.pairs};
    for (int k = 0; k < 3; ++k) present |= db_->Get(ro, HourKey(keys[k], ns, unit), &values[k]).ok();
    RollupValues expected;
    if (!present || !built.Finish(generation, &expected)) return;
    const auto* root = schema::VerifiedRoot<fb::RollupSummary>(values[0], &scratch);
    if (!root) {
      problems->push_back(what + ": unreadable rollup");
    } else if (root->generation() == generation &&  // else stale: not used by queries
               (values[0] != expected.summary || values[1] != expected.ids || values[2] != expected.pairs)) {
      problems->push_back(what + " of namespace hash " + std::to_string(ns) + ": rollup differs from its raw events");
    }
    // Minute rollups may be missing (hours written before format 4): then queries read raw.
    if (!prefixes.minutes || !db_->Get(ro, HourKey(prefixes.minutes, ns, unit), &minutes).ok()) return;
    const auto* by_minute = schema::VerifiedRoot<fb::RollupMinutes>(minutes, &scratch);
    if (!by_minute) {
      problems->push_back(what + ": unreadable minute rollup");
    } else if (by_minute->generation() == generation && minutes != expected.minutes) {
      problems->push_back(what + " of namespace hash " + std::to_string(ns) +
                          ": minute rollup differs from its raw events");
    }
  };
  for (const auto& hour_key : chunk_hours) {
    if (!generations.count(hour_key)) {
      problems->push_back("hour " + std::to_string(hour_key.second) + ": events without a generation counter");
    }
  }
  // An hour at a time, in (namespace hash, hour) order: its chunks of the 16 source shards, each
  // shard read by its own cursor moving forward; a day's builder lives until its last hour.
  std::vector<std::unique_ptr<ForwardCursor>> shards;  // not movable: its iterator points into it
  for (int shard = 0; shard < kSourceShards; ++shard) {
    shards.push_back(std::make_unique<ForwardCursor>(*db_, view.snapshot_, std::string(1, kChunkPrefix + 1)));
  }
  std::optional<std::pair<uint64_t, uint32_t>> day_key;
  uint64_t day_generation = 0;
  RollupBuilder day;
  auto check_day = [&] {
    if (day_key && raw_kept(day_key->first, day_key->second * kHoursPerDay)) {
      check(kDayRollups, day_key->first, day_key->second, day_generation, day,
            "day " + std::to_string(day_key->second));
    }
  };
  for (const auto& [hour_key, generation] : generations) {
    const auto [ns, hour] = hour_key;
    if (!day_key || *day_key != std::pair(ns, hour / kHoursPerDay)) {
      check_day();
      day_key.emplace(ns, hour / kHoursPerDay);
      day_generation = 0;
      day = RollupBuilder();
    }
    day_generation += generation;
    RollupBuilder built(/*by_minute=*/true);
    for (int shard = 0; shard < kSourceShards; ++shard) {
      const auto value = shards[shard]->Find(ChunkKey(ns, static_cast<uint8_t>(shard), hour));
      std::span<const schema::EventRecord> records;
      if (!value || !schema::ReadChunk(std::string_view(value->data(), value->size()), &scratch, &records).ok())
        continue;
      for (const schema::EventRecord& r : records) {
        built.Add(r);
        day.Add(r);
      }
    }
    if (raw_kept(ns, hour)) check(kHourRollups, ns, hour, generation, built, "hour " + std::to_string(hour));
  }
  check_day();
  for (const auto& cursor : shards) {
    if (Status s = cursor->status(); !s.ok()) return s;
  }
  if (keys_checked) *keys_checked = checked;
  return Status::Ok();
}

}  // namespace flowstat::storage
