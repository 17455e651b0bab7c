// EventStore::Info and EventStore::Backup: what a store holds, and a consistent copy of it.
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>

#include <array>
#include <filesystem>
#include <map>

#include "schema/chunk.h"
#include "storage/event_store.h"
#include "storage/keys.h"

namespace flowstat::storage {
namespace {

// RocksDB's estimate of the bytes on disk (and in memtables) of the keys starting with `first`.
uint64_t BytesOfKind(rocksdb::DB& db, char first) {
  const std::string begin(1, first), end(1, static_cast<char>(first + 1));
  rocksdb::Range range(begin, end);
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  uint64_t size = 0;
  if (!db.GetApproximateSizes(options, db.DefaultColumnFamily(), &range, 1, &size).ok()) return 0;
  return size;
}

}  // namespace

Result<StoreInfo> EventStore::Info() const {
  StoreInfo info;
  info.format_version = format_version_;  // a read-only store of an older format stays at its own
  std::map<std::string, StoreInfo::Horizon> by_namespace;
  for (const Horizon& h : Horizons()) {
    StoreInfo::Horizon& out = by_namespace[h.namespace_];
    out.namespace_ = h.namespace_;
    if (h.kind == kHorizonAll) out.rollups_before_ms = h.before_ms;
    auto& raw = out.raw_before_ms;  // everything gone is raw events gone too
    raw = std::max(raw.value_or(h.before_ms), h.before_ms);
  }
  for (auto& [ns, h] : by_namespace) info.horizons.push_back(std::move(h));
  ReadView view(*this, /*fill_cache=*/false);
  std::vector<bool> seen(view.dictionary().size() + 1, false);
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snapshot_;
  ro.fill_cache = false;
  const std::string first(1, kChunkPrefix), last(1, kChunkPrefix + 1);
  rocksdb::Slice upper(last);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::vector<uint64_t> scratch;
  for (it->Seek(first); it->Valid(); it->Next()) {
    std::span<const schema::EventRecord> records;
    Status s = schema::ReadChunk(std::string_view(it->value().data(), it->value().size()), &scratch, &records);
    if (!s.ok()) return s;
    info.events += records.size();
    for (const auto& r : records) {
      if (r.namespace_id() < seen.size() && !seen[r.namespace_id()]) {
        seen[r.namespace_id()] = true;
        info.namespaces++;
      }
      const int64_t t = r.time_ms();
      if (!info.first_ms || t < *info.first_ms) info.first_ms = t;
      if (!info.last_ms || t > *info.last_ms) info.last_ms = t;
    }
  }
  if (Status s = FromRocks(it->status(), "reading chunks"); !s.ok()) return s;
  info.bytes_events = BytesOfKind(*db_, kChunkPrefix) + BytesOfKind(*db_, kPresencePrefix);
  for (char kind : {kGenerationPrefix, kSummaryPrefix, kIdsPrefix, kPairsPrefix, kMinutesPrefix, kDaySummaryPrefix,
                    kDayIdsPrefix, kDayPairsPrefix}) {
    info.bytes_rollups += BytesOfKind(*db_, kind);
  }
  info.bytes_dictionary = BytesOfKind(*db_, kDictionaryPrefix) + BytesOfKind(*db_, kEntryIndexPrefix);
  info.bytes_other =
      BytesOfKind(*db_, kMetaPrefix) + BytesOfKind(*db_, kCheckpointPrefix) + BytesOfKind(*db_, kHorizonPrefix);
  return info;
}

Status EventStore::Backup(const std::string& dir) {
  if (Status s = CheckBackupTarget(db_->GetName(), dir); !s.ok()) return s;
  rocksdb::Checkpoint* raw = nullptr;
  Status s = FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "backup");
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: the memtables are flushed first, so the copy needs no log replay.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), "backup to " + dir);
}

}  // namespace flowstat::storage
