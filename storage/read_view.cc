// EventStore::ReadView: chunks, rollups and presence keys read on one consistent snapshot.
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

namespace flowstat::storage {

EventStore::ReadView::ReadView(const EventStore& store, bool fill_cache)
    : store_(store),
      dict_(std::in_place, store.dictionary_),
      snapshot_(store.db_->GetSnapshot()),
      fill_cache_(fill_cache) {
  StopRocksDbCounters();
}

EventStore::ReadView::ReadView(const EventStore& store, WithoutDictionary)
    : store_(store), snapshot_(store.db_->GetSnapshot()), fill_cache_(false) {
  StopRocksDbCounters();
}

EventStore::ReadView::~ReadView() { store_.db_->ReleaseSnapshot(snapshot_); }

rocksdb::ReadOptions EventStore::ReadView::Options(const rocksdb::Slice* upper) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = fill_cache_;
  ro.iterate_upper_bound = upper;
  return ro;
}

Status EventStore::ReadView::ForEachChunk(uint64_t namespace_hash, uint8_t shard, uint32_t hour_lo, uint32_t hour_hi,
                                          QueryStats* stats, const ChunkVisitor& visit) const {
  StopRocksDbCounters();  // a query's scan may run on a thread besides the view's
  const std::string lo = ChunkKey(namespace_hash, shard, hour_lo);
  const std::string hi = ChunkKey(namespace_hash, shard, hour_hi + 1);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro = Options(&upper);
  std::unique_ptr<rocksdb::Iterator> it(store_.db_->NewIterator(ro));
  for (it->Seek(lo); it->Valid(); it->Next()) {
    uint64_t ns;
    uint8_t key_shard;
    uint32_t hour;
    if (!ParseChunkKey(std::string_view(it->key().data(), it->key().size()), &ns, &key_shard, &hour)) {
      return Status::Corruption("malformed chunk key");
    }
    schema::ChunkRecords records;
    Status s = schema::ReadChunkInPlace(std::string_view(it->value().data(), it->value().size()), &records);
    if (!s.ok()) return s;
    if (stats) {
      stats->chunks_read++;
      stats->bytes_read += it->value().size();
    }
    s = visit(hour, records);
    if (!s.ok()) return s;
  }
  return FromRocks(it->status(), "reading chunks");
}

Status EventStore::ReadView::ForEachRollup(uint64_t ns, RollupSpan span, uint32_t lo, uint32_t hi, RollupWanted wanted,
                                           QueryStats* stats, const RollupVisitor& visit) const {
  const bool days = span == RollupSpan::kDay;
  // The generations say which hours hold events; a cursor per kind of rollup finds each unit's.
  const std::string gens_hi = HourKey(kGenerationPrefix, ns, days ? (hi + 1) * kHoursPerDay : hi + 1);
  const rocksdb::Slice gens_upper(gens_hi);
  std::unique_ptr<rocksdb::Iterator> gens(store_.db_->NewIterator(Options(&gens_upper)));
  gens->Seek(HourKey(kGenerationPrefix, ns, days ? lo * kHoursPerDay : lo));
  struct Rollups {
    char prefix;
    std::optional<ForwardCursor> cursor;
    std::vector<uint64_t> scratch;  // for values that are not 8-byte aligned
  };
  const RollupPrefixes prefixes = days ? kDayRollups : kHourRollups;
  Rollups sums{prefixes.summary, {}, {}}, ids{prefixes.ids, {}, {}}, pairs{prefixes.pairs, {}, {}},
      minutes{prefixes.minutes, {}, {}};
  auto open = [&](Rollups& r) { r.cursor.emplace(*store_.db_, snapshot_, HourKey(r.prefix, ns, hi + 1), fill_cache_); };
  if (wanted.summary) open(sums);
  if (wanted.ids) open(ids);
  if (wanted.pairs) open(pairs);
  if (wanted.minutes && prefixes.minutes) open(minutes);
  // The value of `r` at `unit`, if it has one.
  auto find = [&](Rollups& r, uint32_t unit) -> std::optional<rocksdb::Slice> {
    if (!r.cursor) return std::nullopt;
    const auto value = r.cursor->Find(HourKey(r.prefix, ns, unit));
    if (value && stats) stats->bytes_read += value->size();
    return value;
  };
  auto emit = [&](uint32_t unit, uint64_t gen) {
    RollupParts parts;
    parts.summary = CurrentRollup<fb::RollupSummary>(find(sums, unit), gen, &sums.scratch);
    parts.ids = CurrentRollup<fb::RollupIds>(find(ids, unit), gen, &ids.scratch);
    parts.pairs = CurrentRollup<fb::RollupPairs>(find(pairs, unit), gen, &pairs.scratch);
    parts.minutes = CurrentRollup<fb::RollupMinutes>(find(minutes, unit), gen, &minutes.scratch);
    return visit(unit, parts);
  };
  std::optional<uint32_t> day;  // with days: the one whose generations are being summed
  uint64_t day_generation = 0;
  for (; gens->Valid(); gens->Next()) {
    uint64_t key_ns, gen;
    uint32_t hour;
    if (!ParseGeneration(gens->key().ToStringView(), gens->value().ToStringView(), &key_ns, &hour, &gen)) {
      return Status::Corruption("malformed generation key");
    }
    if (!days) {
      Status s = emit(hour, gen);
      if (!s.ok()) return s;
      continue;
    }
    if (day && *day != hour / kHoursPerDay) {
      Status s = emit(*day, day_generation);
      if (!s.ok()) return s;
      day_generation = 0;
    }
    day = hour / kHoursPerDay;
    day_generation += gen;
  }
  Status s = FromRocks(gens->status(), "reading generations");
  if (s.ok() && day) s = emit(*day, day_generation);
  for (const Rollups* r : {&sums, &ids, &pairs, &minutes}) {
    if (s.ok() && r->cursor) s = r->cursor->status();
  }
  return s;
}

Status EventStore::ReadView::Presence(uint8_t kind, uint64_t item_hash, uint32_t day_lo, uint32_t day_hi,
                                      std::vector<std::pair<uint32_t, uint64_t>>* out) const {
  const std::string lo = PresenceKey(kind, item_hash, day_lo, 0);
  const std::string hi = PresenceKey(kind, item_hash, day_hi + 1, 0);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro = Options(&upper);
  std::unique_ptr<rocksdb::Iterator> it(store_.db_->NewIterator(ro));
  for (it->Seek(lo); it->Valid(); it->Next()) {
    uint8_t k;
    uint64_t item, ns;
    uint32_t day;
    if (!ParsePresenceKey(std::string_view(it->key().data(), it->key().size()), &k, &item, &day, &ns)) {
      return Status::Corruption("malformed presence key");
    }
    out->emplace_back(day, ns);
  }
  return FromRocks(it->status(), "reading presence keys");
}

Status EventStore::ReadView::DaysWithEvents(uint64_t namespace_hash, uint32_t day_lo, uint32_t day_hi,
                                            std::vector<uint32_t>* days) const {
  const uint64_t hour_hi = (uint64_t{day_hi} + 1) * kHoursPerDay;
  const std::string hi = hour_hi > UINT32_MAX
                             ? HourKey(kGenerationPrefix, namespace_hash, UINT32_MAX) + '\xff'
                             : HourKey(kGenerationPrefix, namespace_hash, static_cast<uint32_t>(hour_hi));
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro = Options(&upper);
  std::unique_ptr<rocksdb::Iterator> it(store_.db_->NewIterator(ro));
  for (it->Seek(HourKey(kGenerationPrefix, namespace_hash, day_lo * kHoursPerDay)); it->Valid();) {
    uint64_t ns;
    uint32_t hour;
    if (!ParseHourKey(std::string_view(it->key().data(), it->key().size()), kGenerationPrefix, &ns, &hour)) {
      return Status::Corruption("malformed generation key");
    }
    const uint32_t day = hour / kHoursPerDay;
    days->push_back(day);
    if (uint64_t{day} + 1 > day_hi) break;
    it->Seek(HourKey(kGenerationPrefix, namespace_hash, (day + 1) * kHoursPerDay));  // the next day at once
  }
  return FromRocks(it->status(), "reading generation counters");
}

}  // namespace flowstat::storage
