// Removing events: expiry by time and deletion of a namespace subtree (EventStore::Remove).
//
// Whole hours go by RocksDB range deletion, never key by key: the chunks, generation counters and
// hour rollups of a namespace hash below the first hour kept, and its day rollups up to the day
// the cut falls in. An hour the cut passes through, and any chunk shared (by a hash collision)
// with a namespace that stays, is rewritten without the removed records, and its generation
// counter is bumped in the same batch, so its old rollups stop being current at once. Presence
// keys are left: they may over-report, never under-report. Dictionary entries stay too (ids are
// never reused).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <set>

#include "schema/chunk.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "util/coding.h"

namespace flowstat::storage {
namespace {

// The exclusive end of every key that starts with `prefix` followed by bytes no longer than 8.
std::string PastEveryKeyOf(std::string prefix) {
  prefix.append(9, '\xff');
  return prefix;
}

}  // namespace

Status EventStore::Remove(const util::WriterLease& writer, const RemoveSpec& spec) {
  const bool inside_hour = spec.before_ms <= kMaxTimestampMs && spec.before_ms % kChunkMs != 0;
  if (!spec.keep_rollups && inside_hour) {
    // An hour whose raw events are gone cannot be cut: its rollup stands for all of them.
    for (const Horizon& h : Horizons()) {
      if (h.kind == kHorizonRaw && h.before_ms > spec.before_ms &&
          (NamespaceCovers(spec.namespace_, h.namespace_) || NamespaceCovers(h.namespace_, spec.namespace_))) {
        return Status::InvalidArgument("before: " + FormatTimeSeconds(spec.before_ms) + " falls inside an hour of " +
                                       h.namespace_ + " whose raw events were expired (rollups kept, up to " +
                                       FormatTimeSeconds(h.before_ms) + "): expire up to a whole hour");
      }
    }
  }
  if (spec.keep_rollups && spec.before_ms <= kMaxTimestampMs) return RemoveRawKeepingRollups(writer, spec);
  Status s = RemoveEverything(writer, spec);
  // Afterwards, since a raw horizon it supersedes must stay until nothing is left below it.
  return s.ok() ? RecordHorizon(kHorizonAll, spec.namespace_, spec.before_ms) : s;
}

Status EventStore::RemoveRawKeepingRollups(const util::WriterLease& writer, const RemoveSpec& spec) {
  // Every rollup current first: one left stale could only be rebuilt from the raw events going now.
  if (Status s = Flush(writer); !s.ok()) return s;
  if (Status s = RefreshStaleRollups(); !s.ok()) return s;
  const uint32_t first_kept_hour = HourOf(spec.before_ms);  // whole hours only
  if (Status s = RecordHorizon(kHorizonRaw, spec.namespace_, int64_t{first_kept_hour} * kChunkMs); !s.ok()) return s;
  const auto hashes = RemovedHashes(spec.namespace_);
  rocksdb::WriteBatch wb;
  for (const auto& [h, shared] : hashes) {
    // A hash shared with a namespace that stays keeps its chunks: rewriting them would make the
    // hour's rollups stale. Its raw events stay, harmlessly: the horizon refuses what needs them.
    if (shared) continue;
    for (int shard = 0; shard < kSourceShards; ++shard) {
      const auto s = static_cast<uint8_t>(shard);
      wb.DeleteRange(ChunkKey(h, s, 0), ChunkKey(h, s, first_kept_hour));
    }
  }
  // Generation counters, rollups and presence keys stay: the rollups remain current.
  return WriteToDb(rocksdb::WriteOptions(), &wb, "removing raw events");
}

std::map<uint64_t, bool> EventStore::RemovedHashes(const std::string& scope) const {
  std::map<uint64_t, bool> hashes;  // hash -> shared with a namespace that is kept
  Dictionary::Reader dict(dictionary_);
  for (uint32_t id : dict.NamespaceIds()) {
    const std::string_view ns = dict.Entry(id).substr(1);
    if (NamespaceCovers(scope, ns)) hashes.try_emplace(NamespaceHash(ns), false);
  }
  for (uint32_t id : dict.NamespaceIds()) {
    const std::string_view ns = dict.Entry(id).substr(1);
    auto it = hashes.find(NamespaceHash(ns));
    if (it != hashes.end() && !NamespaceCovers(scope, ns)) it->second = true;
  }
  return hashes;
}

Status EventStore::RemoveEverything(const util::WriterLease& writer, const RemoveSpec& spec) {
  const std::map<uint64_t, bool> hashes = RemovedHashes(spec.namespace_);
  std::vector<bool> covered;  // by namespace id: removed (what a shared chunk's rewrite drops)
  {
    Dictionary::Reader dict(dictionary_);
    covered.assign(dict.size() + 1, false);
    for (uint32_t id : dict.NamespaceIds()) covered[id] = NamespaceCovers(spec.namespace_, dict.Entry(id).substr(1));
  }
  const bool all_time = spec.before_ms > kMaxTimestampMs;
  const uint32_t first_kept_hour = all_time ? UINT32_MAX : HourOf(spec.before_ms);
  const bool cut_inside_hour = !all_time && spec.before_ms % kChunkMs != 0;
  const uint32_t cut_day = all_time ? UINT32_MAX - 1 : DayOf(spec.before_ms);
  const std::string one = util::EncodeFixed64(1);
  for (const auto& entry : hashes) {
    const uint64_t h = entry.first;  // not a structured binding: clang 14 cannot capture one in a lambda
    const bool shared = entry.second;
    rocksdb::WriteBatch wb;
    std::set<std::pair<uint64_t, uint32_t>> rewritten;  // hours rewritten (their rollups go stale)
    // Chunks to rewrite record by record: the hour the cut passes through, and every hour when the
    // hash is shared with a namespace that stays.
    const uint32_t rewrite_from = shared ? 0 : first_kept_hour;
    const uint32_t rewrite_to = cut_inside_hour ? first_kept_hour : (shared ? first_kept_hour - 1 : 0);
    if (!shared) {
      for (int shard = 0; shard < kSourceShards; ++shard) {
        const auto s = static_cast<uint8_t>(shard);
        wb.DeleteRange(ChunkKey(h, s, 0),
                       all_time ? PastEveryKeyOf(ChunkKey(h, s, 0).substr(0, 10)) : ChunkKey(h, s, first_kept_hour));
      }
      for (char prefix : {kGenerationPrefix, kSummaryPrefix, kIdsPrefix, kPairsPrefix, kMinutesPrefix}) {
        wb.DeleteRange(HourKey(prefix, h, 0), all_time ? PastEveryKeyOf(HourKey(prefix, h, 0).substr(0, 9))
                                                       : HourKey(prefix, h, first_kept_hour));
      }
    }
    if (rewrite_from <= rewrite_to && (shared || cut_inside_hour)) {
      ReadView view(*this, /*fill_cache=*/false);
      std::vector<schema::EventRecord> kept;
      for (int shard = 0; shard < kSourceShards; ++shard) {
        Status s = view.ForEachChunk(h, static_cast<uint8_t>(shard), rewrite_from, rewrite_to, nullptr,
                                     [&](uint32_t hour, const schema::ChunkRecords& records) {
                                       kept.clear();
                                       for (size_t i = 0; i < records.size(); ++i) {
                                         const schema::EventRecord r = records[i];
                                         const bool gone = r.namespace_id() < covered.size() &&
                                                           covered[r.namespace_id()] && r.time_ms() < spec.before_ms;
                                         if (!gone) kept.push_back(r);
                                       }
                                       if (kept.size() == records.size()) return Status::Ok();
                                       const std::string key = ChunkKey(h, static_cast<uint8_t>(shard), hour);
                                       if (kept.empty())
                                         wb.Delete(key);
                                       else
                                         wb.Put(key, schema::BuildChunk(kept));
                                       rewritten.insert({h, hour});
                                       return Status::Ok();
                                     });
        if (!s.ok()) return s;
      }
    }
    for (const auto& [ns, hour] : rewritten) wb.Merge(HourKey(kGenerationPrefix, ns, hour), one);
    // Day rollups: every day the removal reaches goes, and is rebuilt from its hours by the refresh.
    std::set<uint32_t> touched_days;
    for (const auto& [ns, hour] : rewritten) touched_days.insert(hour / kHoursPerDay);
    if (!shared) {
      for (char prefix : {kDaySummaryPrefix, kDayIdsPrefix, kDayPairsPrefix}) {
        wb.DeleteRange(HourKey(prefix, h, 0),
                       all_time ? PastEveryKeyOf(HourKey(prefix, h, 0).substr(0, 9)) : HourKey(prefix, h, cut_day + 1));
      }
      if (!all_time) touched_days.insert(cut_day);
    } else {
      for (uint32_t day : touched_days) {
        for (char prefix : {kDaySummaryPrefix, kDayIdsPrefix, kDayPairsPrefix}) wb.Delete(HourKey(prefix, h, day));
      }
    }
    Status s = WriteToDb(rocksdb::WriteOptions(), &wb, "removing events");
    if (!s.ok()) return s;
    util::MutexLock lock(&write_mu_);
    if (!shared) {  // hours and days whose keys are gone have nothing left to refresh
      std::erase_if(dirty_hours_,
                    [&](const auto& d) { return d.first.first == h && d.first.second < first_kept_hour; });
      std::erase_if(dirty_days_, [&](const auto& d) { return d.first == h && d.second <= cut_day; });
    }
    for (const auto& hour : rewritten) dirty_hours_[hour] = writes_numbered_;
    for (uint32_t day : touched_days) dirty_days_.insert({h, day});
  }
  return Flush(writer);
}

}  // namespace flowstat::storage
