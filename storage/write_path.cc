// EventStore's write path: events to chunk merges, dictionary entries and presence keys in one
// atomic WriteBatch; durability (Sync, with group commit) and Flush.
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
#include "storage/table_check.h"
#include "util/coding.h"

namespace flowstat::storage {

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
  if (batch->intern_status.ok()) batch->intern_status = dictionary_.intern_status();
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
  std::vector<schema::EventRecord>& records = chunk_records_;
  std::vector<PresenceKeyBytes>& presence = presence_keys_;
  presence.clear();
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

namespace {

// About the most a batch's WriteBatch holds: its records with their share of chunk and presence
// keys (W2M's batches take ~65 bytes an event), its dictionary entries (each written twice: the
// entry and its index key) and checkpoints. A batch that needs more grows the WriteBatch as usual.
size_t WriteBytesBound(const RecordBatch& batch) {
  size_t bytes = batch.events * (sizeof(schema::EventRecord) + 24);
  for (const auto& [id, entry] : batch.dictionary) bytes += 2 * entry.size() + 48;
  for (const auto& [name, value] : batch.checkpoints) bytes += name.size() + value.size() + 48;
  return bytes;
}

}  // namespace

void RecordBatch::Clear() {
  entries.clear();
  dictionary.clear();
  checkpoints.clear();
  intern_status = Status::Ok();
  events = 0;
}

Status EventStore::WriteRecords(const util::WriterLease&, RecordBatch* batch_to_write, AppendStats* stats) {
  RecordBatch& batch = *batch_to_write;
  StopRocksDbCounters();  // the bulk loader's writing thread, a server's handler thread
  util::MutexLock lock(&write_mu_);
  if (!write_error_.ok()) return write_error_;
  if (!batch.intern_status.ok()) {
    write_error_ = batch.intern_status;
    return write_error_;
  }
  // Reused (its buffer keeps its capacity), and made at once for what the batch may need: grown
  // by appends, its string would double, holding its old and new buffers at once (25 MB at the
  // peak heap of an 18M-event import). Untouched, the reserved bytes cost address space only.
  if (const size_t bound = WriteBytesBound(batch); bound > write_batch_reserved_) {
    write_batch_ = rocksdb::WriteBatch(bound);
    write_batch_reserved_ = bound;
  }
  rocksdb::WriteBatch& wb = write_batch_;
  wb.Clear();
  AddDictionaryEntries(batch.dictionary, &wb);
  for (const auto& [name, value] : batch.checkpoints) wb.Put(CheckpointKey(name), value);
  uint64_t duplicates = 0;
  std::set<std::pair<uint64_t, uint32_t>> hours_in_batch;
  AddChunks(batch, &wb, &duplicates, &hours_in_batch);
  static const std::string kOne = util::EncodeFixed64(1);
  ++writes_numbered_;
  for (const auto& [ns, hour] : hours_in_batch) {
    dirty_hours_[{ns, hour}] = writes_numbered_;
    wb.Merge(HourKey(kGenerationPrefix, ns, hour), kOne);
  }
  Status s = WriteToDb(rocksdb::WriteOptions(), &wb, "writing events");
  if (!s.ok()) {
    write_error_ = s;
    presence_written_.Clear();
    return s;
  }
  writes_done_.fetch_add(1, std::memory_order_release);
  if (!batch.dictionary.empty()) dictionary_.MarkWritten(batch.dictionary.back().first);
  if (stats) {
    stats->accepted += batch.events;
    stats->duplicates += duplicates;
  }
  return Status::Ok();
}

Status EventStore::Write(const util::WriterLease& writer, std::span<const FlowEvent> events, AppendStats* stats) {
  RecordBatch batch;
  schema::EventView view;
  // All or nothing: every event is checked before any is encoded. Library callers build events
  // in code, so they get the checks that parsing gives other inputs.
  for (size_t i = 0; i < events.size(); ++i) {
    schema::ViewOf(events[i], &view);
    Status s = schema::ValidateBuiltView(&view);
    if (s.ok() && has_raw_horizons_) s = CheckHorizon(view);
    if (!s.ok()) return Status::InvalidArgument("event " + std::to_string(i) + ": " + s.message());
  }
  for (const FlowEvent& e : events) {
    schema::ViewOf(e, &view);
    (void)schema::ValidateView(&view);  // passed above; normalizes the namespace's view again
    Encode(writer, view, &batch);
  }
  Seal(writer, &batch);
  return WriteRecords(writer, &batch, stats);
}

Status EventStore::Flush(const util::WriterLease&) {
  {
    // The refresh allocates its own buffers: the write path's go back first (a bulk load ends
    // with a Flush; a server's next batch regrows them).
    util::MutexLock lock(&write_mu_);
    write_batch_ = rocksdb::WriteBatch();
    write_batch_reserved_ = 0;
    chunk_records_ = {};
    presence_keys_ = {};
  }
  Status s = RefreshRollups();
  return s.ok() ? Sync() : s;
}

Status EventStore::WriteToDb(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* wb, std::string_view context) {
  Status s = FromRocks(db_->Write(options, wb), context);
  if (!s.ok()) write_failed_ = true;
  return s;
}

Status EventStore::Sync() {
  if (read_only_) return Status::Ok();
  if (write_failed_) {
    return Status::IOError(
        "an earlier write to the store failed (see its error); what was synced before it is "
        "safe, and the store must be reopened to write again");
  }
  const uint64_t mine = writes_done_.load(std::memory_order_acquire);
  util::MutexLock lock(&sync_mu_);
  if (writes_synced_ >= mine) return Status::Ok();  // a sync that started after our write covered it
  const uint64_t covered = writes_done_.load(std::memory_order_acquire);
  Status s = FromRocks(db_->SyncWAL(), "syncing write-ahead log");
  if (s.ok()) writes_synced_ = covered;
  if (!s.ok()) write_failed_ = true;
  return s;
}

}  // namespace flowstat::storage
