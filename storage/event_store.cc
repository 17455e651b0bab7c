#include "storage/event_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <cstring>
#include <map>
#include <xxhash.h>

#include "schema/chunk.h"
#include "storage/chunk_merge.h"
#include "storage/keys.h"

namespace flowstat::storage {
namespace {

// Beyond this many remembered presence keys the cache is dropped: rewriting a presence key is
// harmless (it is idempotent), so this bounds memory without changing any answer.
constexpr size_t kMaxRememberedPresence = 2'000'000;

uint64_t DefaultNamespaceHash(std::string_view ns) { return HashString(ns); }

rocksdb::Options StoreOptions() {
  rocksdb::Options o;
  o.merge_operator = std::make_shared<ChunkMergeOperator>();
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.max_background_jobs = 2;
  o.write_buffer_size = 64 << 20;
  o.max_write_buffer_number = 3;
  o.target_file_size_base = 64 << 20;
  o.max_bytes_for_level_base = 256 << 20;
  o.keep_log_file_num = 2;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::BlockBasedTableOptions t;
  t.block_size = 32 << 10;
  t.block_cache = rocksdb::NewLRUCache(32 << 20);
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

size_t EventStore::PresenceHash::operator()(const PresenceEntry& p) const {
  const uint64_t parts[3] = {p.ns, uint64_t{p.id} << 32 | p.day, p.kind};  // not the padding bytes
  return XXH3_64bits(parts, sizeof parts);
}

Result<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path, const OpenOptions& options) {
  std::unique_ptr<EventStore> store(new EventStore());
  store->read_only_ = options.read_only;
  store->namespace_hash_ = options.namespace_hash ? options.namespace_hash : DefaultNamespaceHash;
  rocksdb::Options ro = StoreOptions();
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

void EventStore::AddPresence(const Dictionary::Reader& dict, rocksdb::WriteBatch* batch, uint8_t kind,
                             uint32_t id, uint32_t day, uint64_t ns) {
  if (id == 0 || !presence_written_.insert(PresenceEntry{ns, id, day, kind}).second) return;
  auto put = [&](uint8_t k, std::string_view item) { batch->Put(PresenceKey(k, HashString(item), day, ns), {}); };
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
    if (presence_written_.insert(PresenceEntry{ns, tag, day, tag_kind}).second) {
      put(kind, *dict.Payload(tag, schema::EntryKind::kTag));
    }
  }
}

void EventStore::Encode(const schema::EventView& event, RecordBatch* batch) {
  const schema::EventRecord r = encoder_.Encode(event);
  if (r.namespace_id() >= namespace_hashes_.size()) namespace_hashes_.resize(r.namespace_id() + 1024, 0);
  uint64_t& ns = namespace_hashes_[r.namespace_id()];
  if (ns == 0) ns = namespace_hash_(event.namespace_);  // once per namespace (a hash of 0 is recomputed)
  if (r.source_id() >= source_shards_.size()) source_shards_.resize(r.source_id() + 4096, 0xff);
  uint8_t& shard = source_shards_[r.source_id()];
  if (shard == 0xff) shard = SourceShard(HashString(event.source_id));
  batch->chunks[{ns, shard, HourOf(r.time_ms())}].push_back(r);
  batch->events++;
}

void EventStore::Seal(RecordBatch* batch) {
  auto pending = dictionary_.TakePending();
  batch->dictionary.insert(batch->dictionary.end(), pending.begin(), pending.end());
}

Status EventStore::WriteRecords(RecordBatch batch, AppendStats* stats) {
  if (read_only_) return Status::InvalidArgument("store is open read-only");
  if (!write_error_.ok()) return write_error_;
  if (presence_written_.size() > kMaxRememberedPresence) presence_written_.clear();
  rocksdb::WriteBatch wb;
  for (const auto& [id, entry] : batch.dictionary) wb.Put(DictionaryKey(id), entry);
  uint64_t duplicates = 0;
  {
    Dictionary::Reader dict(dictionary_);
    for (auto& [key, records] : batch.chunks) {
      duplicates += schema::SortUnique(&records);
      const auto [ns, shard, hour] = key;
      const uint32_t day = hour / 24;
      for (const auto& r : records) {
        AddPresence(dict, &wb, kPresenceSourceId, r.source_id(), day, ns);
        AddPresence(dict, &wb, kPresenceDestinationId, r.destination_id(), day, ns);
        AddPresence(dict, &wb, kPresenceSourceTag, r.source_tags(), day, ns);
        AddPresence(dict, &wb, kPresenceDestinationTag, r.destination_tags(), day, ns);
      }
      wb.Merge(ChunkKey(ns, shard, hour), schema::BuildChunk(records));
    }
  }
  Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "writing events");
  if (!s.ok()) {
    write_error_ = s;
    presence_written_.clear();
    return s;
  }
  if (stats) {
    stats->accepted += batch.events;
    stats->duplicates += duplicates;
  }
  return Status::Ok();
}

Status EventStore::Write(std::span<const FlowEvent> events, AppendStats* stats) {
  if (read_only_) return Status::InvalidArgument("store is open read-only");
  RecordBatch batch;
  schema::EventView view;
  for (const FlowEvent& e : events) {
    schema::ViewOf(e, &view);
    Encode(view, &batch);
  }
  Seal(&batch);
  return WriteRecords(std::move(batch), stats);
}

Status EventStore::Sync() {
  if (read_only_) return Status::Ok();
  return FromRocks(db_->SyncWAL(), "syncing write-ahead log");
}

Status EventStore::Compact() {
  if (read_only_) return Status::InvalidArgument("store is open read-only");
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(o, nullptr, nullptr), "compacting");
}

EventStore::ReadView::ReadView(const EventStore& store)
    : store_(store), dict_(store.dictionary_), snapshot_(store.db_->GetSnapshot()) {}

EventStore::ReadView::~ReadView() { store_.db_->ReleaseSnapshot(snapshot_); }

Status EventStore::ReadView::ForEachChunk(uint64_t namespace_hash, uint8_t shard, uint32_t hour_lo,
                                          uint32_t hour_hi, QueryStats* stats, const ChunkVisitor& visit) const {
  const std::string lo = ChunkKey(namespace_hash, shard, hour_lo);
  const std::string hi = ChunkKey(namespace_hash, shard, hour_hi + 1);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
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

Status EventStore::ReadView::Presence(uint8_t kind, uint64_t item_hash, uint32_t day_lo, uint32_t day_hi,
                                      std::vector<std::pair<uint32_t, uint64_t>>* out) const {
  const std::string lo = PresenceKey(kind, item_hash, day_lo, 0);
  const std::string hi = PresenceKey(kind, item_hash, day_hi + 1, 0);
  rocksdb::Slice upper(hi);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
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
