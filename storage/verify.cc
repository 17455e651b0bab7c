// Store::Verify: every byte of the store checked against doc/storage-format.md.
#include <rocksdb/db.h>

#include <cstring>
#include <map>

#include "schema/chunk.h"
#include "schema/flatbuffer_view.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "storage/rollup.h"

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
  std::map<std::pair<uint64_t, uint32_t>, std::vector<schema::EventRecord>> hours;  // of one namespace hash
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> generations;
  std::vector<uint64_t> scratch;
  uint64_t checked = 0;
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
        if (key != kFormatKey || value != kFormatDescription) problems->push_back(where + ": unexpected meta record");
        break;
      case kDictionaryPrefix:
        if (!ParseDictionaryKey(key, &id) || id > d.size() || d.Entry(id) != value) {
          problems->push_back(where + ": dictionary entry differs from the loaded dictionary");
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
          auto& all = hours[{ns, hour}];
          all.insert(all.end(), records.begin(), records.end());
        }
        break;
      }
      case kPresencePrefix:
        if (!ParsePresenceKey(key, &kind, &item, &day, &ns) || !value.empty()) {
          problems->push_back(where + ": malformed presence key");
        }
        break;
      case kGenerationPrefix:
        if (!ParseHourKey(key, kGenerationPrefix, &ns, &hour) || value.size() != 8) {
          problems->push_back(where + ": malformed generation key");
        } else {
          std::memcpy(&generations[{ns, hour}], value.data(), 8);
        }
        break;
      case kSummaryPrefix:
      case kPairsPrefix:
        if (!ParseHourKey(key, key[0], &ns, &hour)) problems->push_back(where + ": malformed rollup key");
        break;
      default:
        problems->push_back(where + ": unknown key kind");
    }
  }
  if (!it->status().ok()) problems->push_back("scan: " + it->status().ToString());
  // Rollups against the raw events they stand for: a current rollup must be what BuildRollups
  // makes of the hour's chunks now.
  for (auto& [hour_key, records] : hours) {
    auto gen = generations.find(hour_key);
    if (gen == generations.end()) {
      problems->push_back("hour " + std::to_string(hour_key.second) + ": events without a generation counter");
      continue;
    }
    std::string summary, pairs;
    const bool has_summary = db_->Get(ro, HourKey(kSummaryPrefix, hour_key.first, hour_key.second), &summary).ok();
    const bool has_pairs = db_->Get(ro, HourKey(kPairsPrefix, hour_key.first, hour_key.second), &pairs).ok();
    if (!has_summary && !has_pairs) continue;
    std::sort(records.begin(), records.end(), schema::RecordLess);
    RollupValues expected;
    if (!BuildRollups(records, gen->second, &expected)) continue;
    const auto* root = schema::VerifiedRoot<fb::RollupSummary>(summary, &scratch);
    if (!root) {
      problems->push_back("hour " + std::to_string(hour_key.second) + ": unreadable rollup");
      continue;
    }
    if (root->generation() != gen->second) continue;  // stale: not used by queries
    if (summary != expected.summary || pairs != expected.pairs) {
      problems->push_back("hour " + std::to_string(hour_key.second) + " of namespace hash " +
                          std::to_string(hour_key.first) + ": rollup differs from its raw events");
    }
  }
  if (keys_checked) *keys_checked = checked;
  return Status::Ok();
}

}  // namespace flowstat::storage
