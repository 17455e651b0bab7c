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
#include <utility>

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

// A refresh thread writes its rollups once they reach this many bytes, from a batch made this
// large up front (a day's rollups may take it past).
constexpr size_t kRollupBatchBytes = size_t{1} << 20;
constexpr size_t kRollupBatchReserve = kRollupBatchBytes + (kRollupBatchBytes >> 2);

void DeleteRollups(RollupPrefixes prefixes, uint64_t ns, uint32_t unit, rocksdb::WriteBatch* wb) {
  for (char prefix : {prefixes.summary, prefixes.ids, prefixes.pairs, prefixes.minutes}) {
    if (prefix) wb->Delete(HourKey(prefix, ns, unit));
  }
}

void PutRollups(const RollupValues& v, RollupPrefixes prefixes, uint64_t ns, uint32_t unit, rocksdb::WriteBatch* wb) {
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

// The cursors one refresh thread reads a namespace through, each opened when first needed: an
// open cursor holds a block of every table file it spans.
struct EventStore::RefreshCursors {
  RefreshCursors(const EventStore& s, const ReadView& v) : store(s), view(v) {}

  ForwardCursor& Open(std::unique_ptr<ForwardCursor>& cursor, std::string upper_bound) {
    if (!cursor) cursor = std::make_unique<ForwardCursor>(*store.db_, view.snapshot_, std::move(upper_bound));
    return *cursor;
  }
  ForwardCursor& Generations() { return Open(generations, HourKey(kGenerationPrefix, ns, UINT32_MAX)); }
  ForwardCursor& Chunks(uint8_t shard) { return Open(chunks[shard], ChunkKey(ns, shard, UINT32_MAX)); }
  ForwardCursor& Rollups(char prefix) {
    const int i = prefix == kSummaryPrefix ? 0 : prefix == kIdsPrefix ? 1 : 2;
    return Open(rollups[i], HourKey(prefix, ns, UINT32_MAX));
  }
  // Cursors pin the memtables they started on: a long-lived one would keep every memtable the
  // refresh's writes fill (and RocksDB flushes) in memory. New ones start on the current state.
  void Reset(uint64_t namespace_hash) {
    ns = namespace_hash;
    generations.reset();
    for (auto& c : chunks) c.reset();
    for (auto& c : rollups) c.reset();
  }
  // Chunks are read through the cursors while they are small, so that a block holding many is
  // decompressed once; once they average a block or more, by point reads: a cursor holds a
  // block of every table file it spans, and the sixteen shard cursors of each refresh thread
  // held 54 MB of chunks at 64M events.
  bool PointReads() const { return chunks_read >= kSourceShards && chunk_bytes / chunks_read >= kTableBlockBytes; }
  void CountChunk(size_t bytes) {
    const bool before = PointReads();
    chunk_bytes += bytes;
    ++chunks_read;
    if (!before && PointReads()) {
      for (auto& c : chunks) c.reset();
    }
  }
  Status status() const {
    for (const auto* c : {&generations, &rollups[0], &rollups[1], &rollups[2]}) {
      if (*c && !(*c)->status().ok()) return (*c)->status();
    }
    for (const auto& c : chunks) {
      if (c && !c->status().ok()) return c->status();
    }
    return Status::Ok();
  }

  const EventStore& store;
  const ReadView& view;
  uint64_t ns = 0;
  uint64_t batches_written = 0;
  uint64_t chunk_bytes = 0, chunks_read = 0;
  std::unique_ptr<ForwardCursor> generations;
  std::array<std::unique_ptr<ForwardCursor>, kSourceShards> chunks;
  std::array<std::unique_ptr<ForwardCursor>, 3> rollups;  // summary, ids, pairs
};

Status EventStore::ReadChunk(RefreshCursors& cursors, uint8_t shard, uint32_t hour, rocksdb::PinnableSlice* pinned,
                             std::optional<std::string_view>* chunk) {
  const std::string key = ChunkKey(cursors.ns, shard, hour);
  chunk->reset();
  if (!cursors.PointReads()) {
    ForwardCursor& cursor = cursors.Chunks(shard);
    if (const auto value = cursor.Find(key)) chunk->emplace(value->data(), value->size());
    return cursor.status();
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = cursors.view.snapshot_;
  ro.fill_cache = false;
  pinned->Reset();
  const rocksdb::Status s = db_->Get(ro, db_->DefaultColumnFamily(), key, pinned);
  if (s.ok()) chunk->emplace(pinned->data(), pinned->size());
  return s.ok() || s.IsNotFound() ? Status::Ok() : FromRocks(s, "reading for rollups");
}

Status EventStore::AddHourChunks(RefreshCursors& cursors, uint32_t hour, RollupBuilder* builder) {
  // Records go to the builder chunk by chunk, read in place: an hour's records are not
  // gathered first (32M events: peak RSS 288 -> 266 MB).
  rocksdb::PinnableSlice pinned;
  for (uint8_t shard = 0; shard < kSourceShards; ++shard) {
    std::optional<std::string_view> chunk;
    if (Status s = ReadChunk(cursors, shard, hour, &pinned, &chunk); !s.ok()) return s;
    if (!chunk) continue;
    schema::ChunkRecords records;
    Status s = schema::ReadChunkInPlace(*chunk, &records);
    if (!s.ok()) return s;
    for (size_t i = 0; i < records.size(); ++i) builder->Add(records[i]);
    cursors.CountChunk(chunk->size());  // last: it may close the cursor `chunk` points into
  }
  return Status::Ok();
}

bool EventStore::AddStoredHour(RefreshCursors& cursors, uint32_t hour, uint64_t generation, RollupBuilder* day) {
  std::vector<uint64_t> summary_scratch, ids_scratch, pairs_scratch;
  auto find = [&](char prefix) { return cursors.Rollups(prefix).Find(HourKey(prefix, cursors.ns, hour)); };
  const auto* summary = CurrentRollup<fb::RollupSummary>(find(kSummaryPrefix), generation, &summary_scratch);
  const auto* ids = CurrentRollup<fb::RollupIds>(find(kIdsPrefix), generation, &ids_scratch);
  const auto* pairs = CurrentRollup<fb::RollupPairs>(find(kPairsPrefix), generation, &pairs_scratch);
  if (!summary || !ids || !pairs) return false;
  day->Add(*summary, *ids, *pairs);
  return true;
}

Status EventStore::RefreshDay(RefreshCursors& cursors, const DayRefresh& d, rocksdb::WriteBatch* wb) {
  // A day is the merge of its hours' current rollups: those rebuilt here, straight from memory,
  // and the others read back; an hour without a current one leaves the day without.
  RollupBuilder day;
  uint64_t day_generation = 0;
  bool complete = d.with_day;  // without the day, hours are only rebuilt
  for (uint32_t i = 0; i < kHoursPerDay; ++i) {
    const uint32_t hour = d.day * kHoursPerDay + i;
    const bool rebuild = (d.hours_to_rebuild >> i) & 1;
    if (!rebuild && !d.with_day) continue;
    const auto generation = cursors.Generations().Find(HourKey(kGenerationPrefix, cursors.ns, hour));
    if (!generation && !rebuild) continue;  // no events in this hour
    const auto counted = generation ? GenerationValue(generation->ToStringView()) : std::nullopt;
    if (!counted) {
      Status s = cursors.status();
      return s.ok() ? Status::Corruption("rollup refresh: missing or malformed generation key") : s;
    }
    day_generation += *counted;
    if (!rebuild) {
      complete = complete && AddStoredHour(cursors, hour, *counted, &day);
      continue;
    }
    RollupBuilder builder(/*by_minute=*/true);
    if (Status s = AddHourChunks(cursors, hour, &builder); !s.ok()) return s;
    RollupValues v;
    if (!builder.Finish(*counted, &v)) {  // a sum overflowed: the hour and its day are read raw
      DeleteRollups(kHourRollups, cursors.ns, hour, wb);
      complete = false;
      continue;
    }
    PutRollups(v, kHourRollups, cursors.ns, hour, wb);
    if (complete) day.Add(v);
    if (Status s = WriteRollupsIfFull(cursors, wb); !s.ok()) return s;
  }
  if (Status s = cursors.status(); !s.ok()) return s;
  if (!d.with_day) return Status::Ok();
  RollupValues v;
  if (complete && day.Finish(day_generation, &v)) {
    PutRollups(v, kDayRollups, cursors.ns, d.day, wb);
  } else {
    DeleteRollups(kDayRollups, cursors.ns, d.day, wb);
  }
  return Status::Ok();
}

Status EventStore::WriteRollupsIfFull(RefreshCursors& cursors, rocksdb::WriteBatch* wb) {
  const size_t bytes = wb->GetDataSize();
  if (bytes < kRollupBatchBytes) return Status::Ok();  // small batches: refresh memory stays flat
  if (Status s = WriteRollups(wb); !s.ok()) return s;
  // The next batch reuses this one's buffer: a new one grew by doubling, copying and faulting in
  // fresh pages every time (a sixth of a W2M refresh). A day's rollups that made it large do not
  // keep it so.
  if (bytes <= 2 * kRollupBatchBytes) {
    wb->Clear();
  } else {
    *wb = rocksdb::WriteBatch(kRollupBatchReserve);
  }
  cursors.Reset(cursors.ns);
  // The blocks, merges and rollups freed meanwhile stay with this thread's malloc arena.
  if (++cursors.batches_written % kTrimEveryBatches == 0) util::ReturnFreedMemory();
  return Status::Ok();
}

Status EventStore::RefreshDays(const ReadView& view, DayQueue& days) {
  StopRocksDbCounters();  // each of the refresh's threads, not only the one that made the view
  rocksdb::WriteBatch wb(kRollupBatchReserve);
  RefreshCursors cursors(*this, view);
  while (const DayRefresh* d = days.Take()) {
    if (d->ns != cursors.ns) cursors.Reset(d->ns);
    Status s = RefreshDay(cursors, *d, &wb);
    if (s.ok()) s = WriteRollupsIfFull(cursors, &wb);
    if (!s.ok()) {
      days.Stop();
      return s;
    }
  }
  return WriteRollups(&wb);
}

namespace {

// Runs `refresh` on this thread and one more (with fewer than two days, on this one only).
template <typename Fn>
Status OnTwoThreads(size_t days, Fn&& refresh) {
  Status second;
  std::jthread helper;  // joins on every way out, an exception included
  if (days >= 2) helper = std::jthread([&] { second = refresh(); });
  Status first = refresh();
  if (helper.joinable()) helper.join();
  return first.ok() ? second : first;
}

}  // namespace

Status EventStore::RefreshRollups() {
  if (read_only_) return Status::Ok();
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> hours;
  std::set<std::pair<uint64_t, uint32_t>> day_set;
  {
    util::MutexLock lock(&write_mu_);
    if (!write_error_.ok()) return write_error_;
    hours = dirty_hours_;
    day_set = dirty_days_;
  }
  return RefreshTaken(std::move(hours), day_set, 2);
}

Status EventStore::RefreshSettledRollups(const util::WriterLease&, uint64_t quiet_writes) {
  uint64_t through;
  {
    util::MutexLock lock(&write_mu_);
    through = writes_numbered_ > quiet_writes ? writes_numbered_ - quiet_writes : 0;
  }
  return RefreshWrittenThrough(through);
}

Status EventStore::FlushSettled(const util::WriterLease&) {
  uint64_t through;
  {
    util::MutexLock lock(&write_mu_);
    through = std::exchange(flush_settled_mark_, writes_numbered_);
  }
  Status s = RefreshWrittenThrough(through);
  return s.ok() ? Sync() : s;
}

Status EventStore::RefreshWrittenThrough(uint64_t through) {
  if (read_only_) return Status::Ok();
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> hours;
  std::set<std::pair<uint64_t, uint32_t>> unsettled_days, day_set;
  {
    util::MutexLock lock(&write_mu_);
    if (!write_error_.ok()) return write_error_;
    // An hour is settled when it was not written after `through`: the writes have moved past it
    // (a day still being written, live, gets its earlier hours' rollups). A day is settled when
    // all its stale hours are: its day rollup is built from all its hours, so one still being
    // written would make it stale again at once.
    for (const auto& [hour, written] : dirty_hours_) {
      if (written > through) {
        unsettled_days.insert({hour.first, hour.second / kHoursPerDay});
      } else {
        hours.emplace(hour, written);
      }
    }
    for (const auto& day : dirty_days_) {
      if (!unsettled_days.contains(day)) day_set.insert(day);
    }
  }
  return RefreshTaken(std::move(hours), day_set, 1, unsettled_days);
}

Status EventStore::RefreshTaken(std::map<std::pair<uint64_t, uint32_t>, uint64_t> hours,
                                const std::set<std::pair<uint64_t, uint32_t>>& day_set, int threads,
                                const std::set<std::pair<uint64_t, uint32_t>>& hours_only) {
  if (hours.empty() && day_set.empty()) return Status::Ok();
  std::map<std::pair<uint64_t, uint32_t>, uint32_t> hours_by_day;  // (ns, day) -> hours to rebuild
  for (const auto& day : day_set) hours_by_day[day];
  for (const auto& [hour, written] : hours) {
    hours_by_day[{hour.first, hour.second / kHoursPerDay}] |= uint32_t{1} << (hour.second % kHoursPerDay);
  }
  std::vector<DayRefresh> days;
  for (const auto& [day, mask] : hours_by_day) days.push_back({day.first, day.second, mask, !hours_only.contains(day)});
  {
    // Decompressing and summing every event of the hours written is most of the cost of
    // finishing an import: two threads (the closing refresh), a day each at a time.
    ReadView view(*this, ReadView::WithoutDictionary());
    DayQueue queue(days);
    auto refresh = [&] { return RefreshDays(view, queue); };
    Status s = threads == 2 ? OnTwoThreads(days.size(), refresh) : refresh();
    if (!s.ok()) return s;
  }
  // Only what was refreshed: an hour written since it was taken (its write number moved on)
  // stays stale for the next refresh.
  util::MutexLock lock(&write_mu_);
  for (const auto& [hour, written] : hours) {
    auto it = dirty_hours_.find(hour);
    if (it != dirty_hours_.end() && it->second == written) dirty_hours_.erase(it);
  }
  for (const auto& d : days) {
    if (d.with_day) dirty_days_.erase({d.ns, d.day});
  }
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
      dirty_hours_.emplace(std::pair(ns, hour), writes_numbered_);
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
