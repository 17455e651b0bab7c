// EventStore's rollup refresh: hour rollups from the chunks of the hours written, day rollups
// from the hours, stale rollups found after a crash, and compaction (doc/design.md).
#include "storage/event_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <xxhash.h>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <tuple>

#include "schema/chunk.h"
#include "schema/flatbuffer_view.h"
#include "storage/chunk_merge.h"
#include "storage/keys.h"
#include "storage/rollup.h"
#include "storage/rollup_cursor.h"
#include "storage/table_check.h"
#include "util/coding.h"
#include "util/memory.h"

namespace flowstat::storage {

namespace {

// The rollup refresh hands freed memory back after every this many 1 MB batches it writes: each
// time costs a heap walk and page faults (every batch: imports 5% slower).
constexpr uint64_t kTrimEveryBatches = 8;

void DeleteRollups(RollupPrefixes prefixes, uint64_t ns, uint32_t unit, rocksdb::WriteBatch* wb) {
  for (char prefix : {prefixes.summary, prefixes.ids, prefixes.pairs, prefixes.minutes}) {
    if (prefix) wb->Delete(HourKey(prefix, ns, unit));
  }
}

// Writes the rollups `builder` holds; deletes them when a sum overflows.
void PutRollups(RollupBuilder& builder, uint64_t generation, RollupPrefixes prefixes, uint64_t ns, uint32_t unit,
                rocksdb::WriteBatch* wb) {
  RollupValues v;
  if (!builder.Finish(generation, &v)) return DeleteRollups(prefixes, ns, unit, wb);
  wb->Put(HourKey(prefixes.summary, ns, unit), v.summary);
  wb->Put(HourKey(prefixes.ids, ns, unit), v.ids);
  wb->Put(HourKey(prefixes.pairs, ns, unit), v.pairs);
  if (prefixes.minutes) wb->Put(HourKey(prefixes.minutes, ns, unit), v.minutes);
}

}  // namespace

Status EventStore::WriteRollups(rocksdb::WriteBatch* wb) {
  std::lock_guard lock(rollup_write_mu_);
  return WriteToDb(rocksdb::WriteOptions(), wb, "writing rollups");
}

Status EventStore::RefreshHours(const ReadView& view, std::span<const std::pair<uint64_t, uint32_t>> hours) {
  rocksdb::WriteBatch wb;
  std::vector<uint64_t> scratch;
  uint64_t batches_written = 0;
  // For the namespace at hand: a cursor over its generations and one over each shard's chunks.
  uint64_t cursor_ns = 0;
  std::unique_ptr<ForwardCursor> generations;
  std::vector<std::unique_ptr<ForwardCursor>> chunks(kSourceShards);
  for (const auto& [ns, hour] : hours) {
    if (!generations || ns != cursor_ns) {
      cursor_ns = ns;
      generations = std::make_unique<ForwardCursor>(*db_, view.snapshot_, HourKey(kGenerationPrefix, ns, UINT32_MAX));
      for (uint8_t shard = 0; shard < kSourceShards; ++shard) {
        chunks[shard] = std::make_unique<ForwardCursor>(*db_, view.snapshot_, ChunkKey(ns, shard, UINT32_MAX));
      }
    }
    const auto generation = generations->Find(HourKey(kGenerationPrefix, ns, hour));
    const auto counted = generation ? GenerationValue(generation->ToStringView()) : std::nullopt;
    if (!counted) {
      Status s = generations->status();
      return s.ok() ? Status::Corruption("rollup refresh: missing or malformed generation key") : s;
    }
    const uint64_t gen = *counted;
    // Records go to the builder chunk by chunk, read in place: an hour's records are not
    // gathered first (32M events: peak RSS 288 -> 266 MB).
    RollupBuilder builder(/*by_minute=*/true);
    for (uint8_t shard = 0; shard < kSourceShards; ++shard) {
      const auto chunk = chunks[shard]->Find(ChunkKey(ns, shard, hour));
      if (!chunk) {
        Status s = chunks[shard]->status();
        if (!s.ok()) return s;
        continue;
      }
      std::span<const schema::EventRecord> r;
      Status s = schema::ReadChunk(std::string_view(chunk->data(), chunk->size()), &scratch, &r);
      if (!s.ok()) return s;
      for (const schema::EventRecord& record : r) builder.Add(record);
    }
    PutRollups(builder, gen, kHourRollups, ns, hour, &wb);
    if (wb.GetDataSize() > (1 << 20)) {  // small batches: refresh memory stays flat
      Status s = WriteRollups(&wb);
      if (!s.ok()) return s;
      wb.Clear();
      // Cursors pin the memtables they started on: a long-lived one would keep every memtable
      // these writes fill (and RocksDB flushes) in memory. New ones start on the current state.
      generations.reset();
      // The blocks, merges and rollups freed meanwhile stay with this thread's malloc arena.
      if (++batches_written % kTrimEveryBatches == 0) util::ReturnFreedMemory();
    }
  }
  return WriteRollups(&wb);
}

Status EventStore::RefreshDays(const ReadView& view, std::span<const std::pair<uint64_t, uint32_t>> days) {
  rocksdb::WriteBatch wb;
  std::vector<uint64_t> summary_scratch, ids_scratch, pairs_scratch;
  uint64_t cursor_ns = 0;
  std::unique_ptr<ForwardCursor> generations, summaries, ids, pairs;
  for (const auto& [ns, day] : days) {
    if (!generations || ns != cursor_ns) {
      cursor_ns = ns;
      auto open = [&, ns = ns](char prefix) {
        return std::make_unique<ForwardCursor>(*db_, view.snapshot_, HourKey(prefix, ns, UINT32_MAX));
      };
      generations = open(kGenerationPrefix);
      summaries = open(kSummaryPrefix);
      ids = open(kIdsPrefix);
      pairs = open(kPairsPrefix);
    }
    // A day is the merge of its hours' current rollups; an hour without one leaves it without.
    RollupBuilder builder;
    uint64_t day_generation = 0;
    bool complete = true;
    for (uint32_t hour = day * kHoursPerDay; hour < (day + 1) * kHoursPerDay && complete; ++hour) {
      const auto generation = generations->Find(HourKey(kGenerationPrefix, ns, hour));
      if (!generation) continue;  // no events in this hour
      const auto counted = GenerationValue(generation->ToStringView());
      if (!counted) return Status::Corruption("rollup refresh: malformed generation key");
      const uint64_t gen = *counted;
      day_generation += gen;
      const auto* s =
          CurrentRollup<fb::RollupSummary>(summaries->Find(HourKey(kSummaryPrefix, ns, hour)), gen, &summary_scratch);
      const auto* i = CurrentRollup<fb::RollupIds>(ids->Find(HourKey(kIdsPrefix, ns, hour)), gen, &ids_scratch);
      const auto* p = CurrentRollup<fb::RollupPairs>(pairs->Find(HourKey(kPairsPrefix, ns, hour)), gen, &pairs_scratch);
      complete = s && i && p;
      if (complete) builder.Add(*s, *i, *p);
    }
    for (const auto* cursor : {&generations, &summaries, &ids, &pairs}) {
      Status s = (*cursor)->status();
      if (!s.ok()) return s;
    }
    if (complete) {
      PutRollups(builder, day_generation, kDayRollups, ns, day, &wb);
    } else {
      DeleteRollups(kDayRollups, ns, day, &wb);
    }
    if (wb.GetDataSize() > (1 << 20)) {
      Status s = WriteRollups(&wb);
      if (!s.ok()) return s;
      wb.Clear();
      generations.reset();  // see RefreshHours
    }
  }
  return WriteRollups(&wb);
}

namespace {

// Runs `refresh` on the two halves of `items` on two threads (each item is independent).
template <typename Fn>
Status OnTwoThreads(const std::vector<std::pair<uint64_t, uint32_t>>& items, Fn&& refresh) {
  const size_t half = items.size() / 2;
  Status second;
  std::jthread helper;  // joins on every way out, an exception included
  if (half > 0) helper = std::jthread([&] { second = refresh(std::span(items).subspan(half)); });
  Status first = refresh(std::span(items).first(half > 0 ? half : items.size()));
  if (helper.joinable()) helper.join();
  return first.ok() ? second : first;
}

}  // namespace

Status EventStore::RefreshRollups() {
  if (read_only_) return Status::Ok();
  std::vector<std::pair<uint64_t, uint32_t>> hours;
  std::set<std::pair<uint64_t, uint32_t>> day_set;
  {
    util::MutexLock lock(&write_mu_);
    if (!write_error_.ok()) return write_error_;
    hours.assign(dirty_hours_.begin(), dirty_hours_.end());
    day_set = dirty_days_;
  }
  if (hours.empty() && day_set.empty()) return Status::Ok();
  {
    // Decompressing and summing every event of the hours written is most of the cost of
    // finishing an import: two threads.
    ReadView view(*this, /*fill_cache=*/false);
    Status s = OnTwoThreads(hours, [&](auto part) { return RefreshHours(view, part); });
    if (!s.ok()) return s;
  }
  for (const auto& [ns, hour] : hours) day_set.insert({ns, hour / kHoursPerDay});
  const std::vector<std::pair<uint64_t, uint32_t>> days(day_set.begin(), day_set.end());
  {
    ReadView view(*this, /*fill_cache=*/false);  // sees the hour rollups just written
    Status s = OnTwoThreads(days, [&](auto part) { return RefreshDays(view, part); });
    if (!s.ok()) return s;
  }  // the view's dictionary lock is released before write_mu_ is taken: AddChunks takes them the other way
  // Only what was refreshed: an hour written meanwhile stays dirty for the next refresh.
  util::MutexLock lock(&write_mu_);
  for (const auto& hour : hours) dirty_hours_.erase(hour);
  for (const auto& day : days) dirty_days_.erase(day);
  return Status::Ok();
}

Status EventStore::RefreshStaleRollups() {
  if (read_only_) return Status::Ok();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::vector<uint64_t> scratch;
  // Whether the rollup under `key` is stamped `generation` (false when missing or unreadable).
  auto current = [&](const std::string& key, uint64_t generation) -> Result<bool> {
    std::string value;
    rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (!rs.ok() && !rs.IsNotFound()) return FromRocks(rs, "reading rollup");
    const bool minutes = key[0] == kMinutesPrefix;
    const rocksdb::Slice bytes(value);
    return rs.ok() && (minutes ? CurrentRollup<fb::RollupMinutes>(bytes, generation, &scratch) != nullptr
                               : CurrentRollup<fb::RollupSummary>(bytes, generation, &scratch) != nullptr);
  };
  // Hours of a store written before format 4 lack minute rollups: rebuilt too where their raw
  // events are kept (below a raw horizon, a rebuild would find none and lose the kept rollups).
  const std::map<uint64_t, uint32_t> raw_horizon_hour = RawHorizonHours(Dictionary::Reader(dictionary_));
  auto raw_kept = [&](uint64_t ns, uint32_t hour) {
    auto found = raw_horizon_hour.find(ns);
    return found == raw_horizon_hour.end() || hour >= found->second;
  };
  // Generation keys come in (namespace, hour) order: a day's hours are adjacent.
  std::optional<std::pair<uint64_t, uint32_t>> day;
  uint64_t day_generation = 0;
  auto check_day = [&]() -> Status {
    if (!day) return Status::Ok();
    auto ok = current(HourKey(kDaySummaryPrefix, day->first, day->second), day_generation);
    if (!ok.ok()) return ok.status();
    if (!*ok) {
      util::MutexLock lock(&write_mu_);
      dirty_days_.insert(*day);
    }
    return Status::Ok();
  };
  const std::string first(1, kGenerationPrefix);
  for (it->Seek(first); it->Valid() && it->key()[0] == kGenerationPrefix; it->Next()) {
    uint64_t ns, gen;
    uint32_t hour;
    if (!ParseGeneration(it->key().ToStringView(), it->value().ToStringView(), &ns, &hour, &gen)) {
      return Status::Corruption("malformed generation key");
    }
    auto ok = current(HourKey(kSummaryPrefix, ns, hour), gen);
    if (!ok.ok()) return ok.status();
    if (*ok && raw_kept(ns, hour)) ok = current(HourKey(kMinutesPrefix, ns, hour), gen);
    if (!ok.ok()) return ok.status();
    if (!*ok) {
      util::MutexLock lock(&write_mu_);
      dirty_hours_.insert({ns, hour});
    }
    if (!day || *day != std::pair(ns, hour / kHoursPerDay)) {
      Status s = check_day();
      if (!s.ok()) return s;
      day.emplace(ns, hour / kHoursPerDay);
      day_generation = 0;
    }
    day_generation += gen;
  }
  Status s = FromRocks(it->status(), "scanning generations");
  if (s.ok()) s = check_day();
  return s.ok() ? RefreshRollups() : s;
}

Status EventStore::Compact(const util::WriterLease&) {
  Status s = RefreshStaleRollups();
  if (!s.ok()) return s;
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(o, nullptr, nullptr), "compacting");
}

}  // namespace flowstat::storage
