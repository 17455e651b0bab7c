#include "storage/event_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <tuple>
#include <cstring>
#include <map>
#include <optional>
#include <xxhash.h>

#include "schema/chunk.h"
#include "schema/flatbuffer_view.h"
#include "storage/chunk_merge.h"
#include "storage/keys.h"
#include "storage/rollup.h"
#include "storage/table_check.h"
#include "util/coding.h"

namespace flowstat::storage {
namespace {

uint64_t DefaultNamespaceHash(std::string_view ns) { return HashString(ns); }

rocksdb::Options StoreOptions() {
  rocksdb::Options o;
  o.merge_operator = std::make_shared<ChunkMergeOperator>();
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.max_background_jobs = 2;
  // Import memory: at most 2 x 32 MB memtables, so a bulk import stays within ~256 MB RSS.
  o.write_buffer_size = 32 << 20;
  o.max_write_buffer_number = 2;
  o.target_file_size_base = 64 << 20;
  o.max_bytes_for_level_base = 256 << 20;
  o.keep_log_file_num = 2;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::BlockBasedTableOptions t;
  t.block_size = 32 << 10;
  t.block_cache = rocksdb::NewLRUCache(32 << 20);
  t.checksum = rocksdb::kXXH3;  // storage/table_check.cc refuses tables that claim another
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

bool IsFlowstatDirCandidate(const std::filesystem::path& dir, Status* refusal) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  if (!std::filesystem::is_directory(dir, ec)) {
    *refusal = Status::Incompatible(dir.string() + ": not a directory");
    return false;
  }
  if (std::filesystem::exists(dir / "CURRENT", ec)) return true;
  if (std::filesystem::directory_iterator(dir, ec) != std::filesystem::directory_iterator()) {
    *refusal = Status::Incompatible(dir.string() + ": not a flowstat store (a non-empty directory without one)");
    return false;
  }
  return true;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::Busy(std::string(context) + ": store is locked by another process (" + s.ToString() + ")");
  }
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsInvalidArgument()) return Status::Incompatible(msg);
  return Status::IOError(msg);
}

Result<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path, const OpenOptions& options) {
  std::unique_ptr<EventStore> store(new EventStore());
  store->read_only_ = options.read_only;
  store->namespace_hash_ = options.namespace_hash ? options.namespace_hash : DefaultNamespaceHash;
  rocksdb::Options ro = StoreOptions();
  store->env_ = NewTableCheckingEnv();
  ro.env = store->env_.get();
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    if (!exists) return Status::NotFound(path + ": no flowstat store here");
    s = rocksdb::DB::OpenForReadOnly(ro, path, &db);
  } else {
    Status refusal;
    if (!IsFlowstatDirCandidate(path, &refusal)) return refusal;
    if (!exists && !options.create_if_missing) return Status::NotFound(path + ": no flowstat store here");
    ro.create_if_missing = true;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError(path + ": cannot create directory: " + ec.message());
    s = rocksdb::DB::Open(ro, path, &db);
  }
  if (!s.ok()) return FromRocks(s, path);
  store->db_.reset(db);
  Status st = store->CheckFormat(!exists);
  if (st.ok()) st = store->LoadDictionary();
  if (!st.ok()) return Status(st);
  return store;
}

EventStore::~EventStore() {
  if (db_ && !read_only_) db_->SyncWAL();
}

Status EventStore::CheckFormat(bool fresh) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kFormatKey, &value);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!fresh || it->Valid() || read_only_) {
      return Status::Incompatible("not a flowstat store (no format record)");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Put(wo, kFormatKey, kFormatDescription), "writing format record");
  }
  if (!s.ok()) return FromRocks(s, "reading format record");
  if (value != kFormatDescription) {
    return Status::Incompatible("store format '" + value + "' is not the supported '" +
                                std::string(kFormatDescription) + "'");
  }
  return Status::Ok();
}

Status EventStore::LoadDictionary() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string first(1, kDictionaryPrefix);
  for (it->Seek(first); it->Valid() && it->key()[0] == kDictionaryPrefix; it->Next()) {
    uint32_t id;
    if (!ParseDictionaryKey(std::string_view(it->key().data(), it->key().size()), &id)) {
      return Status::Corruption("malformed dictionary key");
    }
    Status s = dictionary_.Load(id, std::string_view(it->value().data(), it->value().size()));
    if (!s.ok()) return s;
  }
  return FromRocks(it->status(), "loading dictionary");
}

Result<util::WriterLease> EventStore::EnterWriter() {
  if (read_only_) return Status::InvalidArgument("store is open read-only");
  std::optional<util::WriterLease> lease;
  if (!writer_.Enter(&lease)) {
    return Status::Busy("this thread is the store's writer already (a Loader it created is alive): "
                        "finish and destroy the Loader first");
  }
  return std::move(*lease);
}

void EventStore::AddPresence(const Dictionary::Reader& dict, std::vector<PresenceKeyBytes>* keys, uint8_t kind,
                             uint32_t id, uint32_t day, uint64_t ns) {
  if (id == 0 || !presence_written_.Insert(kind, id, day, ns)) return;
  auto put = [&](uint8_t k, std::string_view item) {
    const std::string key = PresenceKey(k, HashString(item), day, ns);
    std::memcpy(keys->emplace_back().data(), key.data(), kPresenceKeySize);
  };
  if (kind == kPresenceSourceId || kind == kPresenceDestinationId) {
    put(kind, *dict.Payload(id, schema::EntryKind::kEntityId));
    return;
  }
  // A new tag list in this (day, namespace): one key per tag not yet written there. Tag entries
  // are remembered under the tag kind's upper-case twin so lists sharing tags write them once.
  std::string_view list = *dict.Payload(id, schema::EntryKind::kTagList);
  const uint8_t tag_kind = static_cast<uint8_t>(kind | 0x80);
  for (size_t i = 0; i + 4 <= list.size(); i += 4) {
    uint32_t tag;
    std::memcpy(&tag, list.data() + i, 4);
    if (presence_written_.Insert(tag_kind, tag, day, ns)) {
      put(kind, *dict.Payload(tag, schema::EntryKind::kTag));
    }
  }
}

void EventStore::Encode(const util::WriterLease&, const schema::EventView& event, RecordBatch* batch) {
  const schema::EventRecord r = encoder_.Encode(event);
  if (r.namespace_id() >= namespace_hashes_.size()) namespace_hashes_.resize(r.namespace_id() + 1024, 0);
  uint64_t& ns = namespace_hashes_[r.namespace_id()];
  if (ns == 0) ns = namespace_hash_(event.namespace_);  // once per namespace (a hash of 0 is recomputed)
  if (r.source_id() >= source_shards_.size()) source_shards_.resize(r.source_id() + 4096, 0xff);
  uint8_t& shard = source_shards_[r.source_id()];
  if (shard == 0xff) shard = SourceShard(HashString(event.source_id));
  batch->entries.push_back({ns, HourOf(r.time_ms()), shard, r});
  batch->events++;
}

void EventStore::Seal(const util::WriterLease&, RecordBatch* batch) {
  auto pending = dictionary_.TakePending();
  batch->dictionary.insert(batch->dictionary.end(), pending.begin(), pending.end());
}

void EventStore::AddChunks(RecordBatch& batch, rocksdb::WriteBatch* wb, uint64_t* duplicates,
                           std::set<std::pair<uint64_t, uint32_t>>* hours) {
  using Entry = RecordBatch::Entry;
  auto chunk_of = [](const Entry& e) { return std::tie(e.namespace_hash, e.shard, e.hour); };
  std::sort(batch.entries.begin(), batch.entries.end(), [&](const Entry& a, const Entry& b) {
    if (chunk_of(a) != chunk_of(b)) return chunk_of(a) < chunk_of(b);
    return schema::RecordLess(a.record, b.record);
  });
  Dictionary::Reader dict(dictionary_);
  std::vector<schema::EventRecord> records;
  std::vector<PresenceKeyBytes> presence;
  for (auto run = batch.entries.begin(); run != batch.entries.end();) {
    const auto [ns, shard, hour] = chunk_of(*run);
    const uint32_t day = hour / 24;
    records.clear();
    uint32_t last_source = 0;
    for (; run != batch.entries.end() && chunk_of(*run) == std::tie(ns, shard, hour); ++run) {
      const schema::EventRecord& r = run->record;
      if (!records.empty() && schema::CompareRecords(records.back(), r) == 0) {
        ++*duplicates;
        continue;
      }
      records.push_back(r);
      if (r.source_id() != last_source) {  // records are sorted by source: skip repeats cheaply
        last_source = r.source_id();
        AddPresence(dict, &presence, kPresenceSourceId, r.source_id(), day, ns);
      }
      AddPresence(dict, &presence, kPresenceDestinationId, r.destination_id(), day, ns);
      AddPresence(dict, &presence, kPresenceSourceTag, r.source_tags(), day, ns);
      AddPresence(dict, &presence, kPresenceDestinationTag, r.destination_tags(), day, ns);
    }
    wb->Merge(ChunkKey(ns, shard, hour), schema::BuildChunk(records));
    hours->insert({ns, hour});
  }
  // In key order, like the chunks before them: the memtable inserts a run of ascending keys
  // next to the previous one instead of searching its skip list from the top each time.
  std::sort(presence.begin(), presence.end());
  for (const PresenceKeyBytes& key : presence) wb->Put(rocksdb::Slice(key.data(), key.size()), {});
}

Status EventStore::WriteRecords(const util::WriterLease&, RecordBatch batch, AppendStats* stats) {
  util::MutexLock lock(&write_mu_);
  if (!write_error_.ok()) return write_error_;
  rocksdb::WriteBatch wb;
  for (const auto& [id, entry] : batch.dictionary) wb.Put(DictionaryKey(id), entry);
  for (const auto& [name, value] : batch.checkpoints) wb.Put(CheckpointKey(name), value);
  uint64_t duplicates = 0;
  std::set<std::pair<uint64_t, uint32_t>> hours_in_batch;
  AddChunks(batch, &wb, &duplicates, &hours_in_batch);
  static const std::string kOne = util::EncodeFixed64(1);
  for (const auto& [ns, hour] : hours_in_batch) {
    dirty_hours_.insert({ns, hour});
    wb.Merge(HourKey(kGenerationPrefix, ns, hour), kOne);
  }
  Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "writing events");
  if (!s.ok()) {
    write_error_ = s;
    presence_written_.Clear();
    return s;
  }
  writes_done_.fetch_add(1, std::memory_order_release);
  if (stats) {
    stats->accepted += batch.events;
    stats->duplicates += duplicates;
  }
  return Status::Ok();
}

Status EventStore::Write(const util::WriterLease& writer, std::span<const FlowEvent> events, AppendStats* stats) {
  RecordBatch batch;
  schema::EventView view;
  for (const FlowEvent& e : events) {
    schema::ViewOf(e, &view);
    Encode(writer, view, &batch);
  }
  Seal(writer, &batch);
  return WriteRecords(writer, std::move(batch), stats);
}

Result<std::string> EventStore::ReadCheckpoint(std::string_view name) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), CheckpointKey(name), &value);
  if (s.IsNotFound()) return Status::NotFound("no checkpoint named '" + std::string(name) + "'");
  if (!s.ok()) return FromRocks(s, "reading checkpoint");
  return value;
}

Status EventStore::Flush(const util::WriterLease&) {
  Status s = RefreshRollups();
  return s.ok() ? Sync() : s;
}

Status EventStore::Sync() {
  if (read_only_) return Status::Ok();
  const uint64_t mine = writes_done_.load(std::memory_order_acquire);
  util::MutexLock lock(&sync_mu_);
  if (writes_synced_ >= mine) return Status::Ok();  // a sync that started after our write covered it
  const uint64_t covered = writes_done_.load(std::memory_order_acquire);
  Status s = FromRocks(db_->SyncWAL(), "syncing write-ahead log");
  if (s.ok()) writes_synced_ = covered;
  return s;
}

namespace {

// Reads keys in ascending order with one iterator, so that each block is read (and
// decompressed) once however many of the keys it holds: point reads with fill_cache off would
// decompress a block again for every key in it. Whole-store passes keep fill_cache off so as not
// to evict what queries use; queries leave it on.
class ForwardCursor {
 public:
  ForwardCursor(rocksdb::DB& db, const rocksdb::Snapshot* snapshot, std::string upper_bound, bool fill_cache = false)
      : upper_bound_(std::move(upper_bound)), bound_(upper_bound_) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.fill_cache = fill_cache;
    ro.iterate_upper_bound = &bound_;
    it_.reset(db.NewIterator(ro));
  }

  // The value stored under `key`, or nullopt. REQUIRES: keys asked in ascending order.
  std::optional<rocksdb::Slice> Find(std::string_view key) {
    const rocksdb::Slice target(key.data(), key.size());
    // A few steps forward beat a seek: consecutive wanted keys are usually adjacent. (An
    // iterator not yet positioned is not Valid.)
    for (int steps = 0; steps < 8 && it_->Valid() && it_->key().compare(target) < 0; ++steps) it_->Next();
    if (!started_ || (it_->Valid() && it_->key().compare(target) < 0)) {
      it_->Seek(target);
      started_ = true;
    }
    if (it_->Valid() && it_->key() == target) return it_->value();
    return std::nullopt;
  }

  Status status() const { return FromRocks(it_->status(), "reading for rollups"); }

 private:
  std::string upper_bound_;
  rocksdb::Slice bound_;
  std::unique_ptr<rocksdb::Iterator> it_;
  bool started_ = false;
};

// The rollup `value` as a verified root, when present, readable and stamped `generation`.
template <typename Root>
const Root* CurrentRollup(std::optional<rocksdb::Slice> value, uint64_t generation, std::vector<uint64_t>* scratch) {
  if (!value) return nullptr;
  const Root* root = schema::VerifiedRoot<Root>(std::string_view(value->data(), value->size()), scratch);
  return root && root->generation() == generation ? root : nullptr;
}

void DeleteRollups(RollupPrefixes prefixes, uint64_t ns, uint32_t unit, rocksdb::WriteBatch* wb) {
  for (char prefix : {prefixes.summary, prefixes.ids, prefixes.pairs}) wb->Delete(HourKey(prefix, ns, unit));
}

// Writes the rollups `builder` holds; deletes them when a sum overflows.
void PutRollups(RollupBuilder& builder, uint64_t generation, RollupPrefixes prefixes, uint64_t ns, uint32_t unit,
                rocksdb::WriteBatch* wb) {
  RollupValues v;
  if (!builder.Finish(generation, &v)) return DeleteRollups(prefixes, ns, unit, wb);
  wb->Put(HourKey(prefixes.summary, ns, unit), v.summary);
  wb->Put(HourKey(prefixes.ids, ns, unit), v.ids);
  wb->Put(HourKey(prefixes.pairs, ns, unit), v.pairs);
}

}  // namespace

Status EventStore::WriteRollups(rocksdb::WriteBatch* wb) {
  std::lock_guard lock(rollup_write_mu_);
  return FromRocks(db_->Write(rocksdb::WriteOptions(), wb), "writing rollups");
}

Status EventStore::RefreshHours(const ReadView& view, std::span<const std::pair<uint64_t, uint32_t>> hours) {
  rocksdb::WriteBatch wb;
  std::vector<schema::EventRecord> records;
  std::vector<uint64_t> scratch;
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
    if (!generation || generation->size() != 8) {
      Status s = generations->status();
      return s.ok() ? Status::Corruption("rollup refresh: missing or malformed generation key") : s;
    }
    const uint64_t gen = util::DecodeFixed64(generation->data());
    records.clear();
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
      records.insert(records.end(), r.begin(), r.end());
    }
    RollupBuilder builder;
    for (const schema::EventRecord& r : records) builder.Add(r);
    PutRollups(builder, gen, kHourRollups, ns, hour, &wb);
    if (wb.GetDataSize() > (1 << 20)) {  // small batches: refresh memory stays flat
      Status s = WriteRollups(&wb);
      if (!s.ok()) return s;
      wb.Clear();
      // Cursors pin the memtables they started on: a long-lived one would keep every memtable
      // these writes fill (and RocksDB flushes) in memory. New ones start on the current state.
      generations.reset();
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
      if (generation->size() != 8) return Status::Corruption("rollup refresh: malformed generation key");
      const uint64_t gen = util::DecodeFixed64(generation->data());
      day_generation += gen;
      const auto* s = CurrentRollup<fb::RollupSummary>(summaries->Find(HourKey(kSummaryPrefix, ns, hour)), gen,
                                                       &summary_scratch);
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
    return rs.ok() && CurrentRollup<fb::RollupSummary>(rocksdb::Slice(value), generation, &scratch) != nullptr;
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
    uint64_t ns;
    uint32_t hour;
    if (!ParseHourKey(std::string_view(it->key().data(), it->key().size()), kGenerationPrefix, &ns, &hour) ||
        it->value().size() != 8) {
      return Status::Corruption("malformed generation key");
    }
    const uint64_t gen = util::DecodeFixed64(it->value().data());
    auto ok = current(HourKey(kSummaryPrefix, ns, hour), gen);
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

EventStore::ReadView::ReadView(const EventStore& store, bool fill_cache)
    : store_(store), dict_(store.dictionary_), snapshot_(store.db_->GetSnapshot()), fill_cache_(fill_cache) {}

EventStore::ReadView::~ReadView() { store_.db_->ReleaseSnapshot(snapshot_); }

Status EventStore::ReadView::ForEachChunk(uint64_t namespace_hash, uint8_t shard, uint32_t hour_lo,
                                          uint32_t hour_hi, QueryStats* stats, const ChunkVisitor& visit) const {
  const std::string lo = ChunkKey(namespace_hash, shard, hour_lo);
  const std::string hi = ChunkKey(namespace_hash, shard, hour_hi + 1);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = fill_cache_;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(store_.db_->NewIterator(ro));
  std::vector<uint64_t> scratch;
  for (it->Seek(lo); it->Valid(); it->Next()) {
    uint64_t ns;
    uint8_t key_shard;
    uint32_t hour;
    if (!ParseChunkKey(std::string_view(it->key().data(), it->key().size()), &ns, &key_shard, &hour)) {
      return Status::Corruption("malformed chunk key");
    }
    std::span<const schema::EventRecord> records;
    Status s = schema::ReadChunk(std::string_view(it->value().data(), it->value().size()), &scratch, &records);
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

Status EventStore::ReadView::ForEachRollup(uint64_t ns, RollupSpan span, uint32_t lo, uint32_t hi,
                                           RollupWanted wanted, QueryStats* stats, const RollupVisitor& visit) const {
  const bool days = span == RollupSpan::kDay;
  // The generations say which hours hold events; a cursor per kind of rollup finds each unit's.
  const std::string gens_hi = HourKey(kGenerationPrefix, ns, days ? (hi + 1) * kHoursPerDay : hi + 1);
  const rocksdb::Slice gens_upper(gens_hi);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = fill_cache_;
  ro.iterate_upper_bound = &gens_upper;
  std::unique_ptr<rocksdb::Iterator> gens(store_.db_->NewIterator(ro));
  gens->Seek(HourKey(kGenerationPrefix, ns, days ? lo * kHoursPerDay : lo));
  struct Rollups {
    char prefix;
    std::optional<ForwardCursor> cursor;
    std::vector<uint64_t> scratch;  // for values that are not 8-byte aligned
  };
  const RollupPrefixes prefixes = days ? kDayRollups : kHourRollups;
  Rollups sums{prefixes.summary, {}, {}}, ids{prefixes.ids, {}, {}}, pairs{prefixes.pairs, {}, {}};
  auto open = [&](Rollups& r) { r.cursor.emplace(*store_.db_, snapshot_, HourKey(r.prefix, ns, hi + 1), fill_cache_); };
  open(sums);
  if (wanted.ids) open(ids);
  if (wanted.pairs) open(pairs);
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
    return visit(unit, parts);
  };
  std::optional<uint32_t> day;  // with days: the one whose generations are being summed
  uint64_t day_generation = 0;
  for (; gens->Valid(); gens->Next()) {
    uint64_t key_ns;
    uint32_t hour;
    if (!ParseHourKey(std::string_view(gens->key().data(), gens->key().size()), kGenerationPrefix, &key_ns, &hour) ||
        gens->value().size() != 8) {
      return Status::Corruption("malformed generation key");
    }
    const uint64_t gen = util::DecodeFixed64(gens->value().data());
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
  for (const Rollups* r : {&sums, &ids, &pairs}) {
    if (s.ok() && r->cursor) s = r->cursor->status();
  }
  return s;
}

Status EventStore::ReadView::Presence(uint8_t kind, uint64_t item_hash, uint32_t day_lo, uint32_t day_hi,
                                      std::vector<std::pair<uint32_t, uint64_t>>* out) const {
  const std::string lo = PresenceKey(kind, item_hash, day_lo, 0);
  const std::string hi = PresenceKey(kind, item_hash, day_hi + 1, 0);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = fill_cache_;
  ro.iterate_upper_bound = &upper;
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

}  // namespace flowstat::storage
