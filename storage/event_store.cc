// EventStore: opening a store (directory checks, format record, dictionary) and the writer slot.
#include "storage/event_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <xxhash.h>
#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
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
namespace {

uint64_t DefaultNamespaceHash(std::string_view ns) { return HashString(ns); }

// RocksDB's own diagnostics go to standard error, errors only, never to a LOG file in the store:
// on a full disk that file fails like the data, and RocksDB's logger does not survive its own
// failed write (an assertion in Debian's build aborts the process).
class ErrorsToStderr final : public rocksdb::Logger {
 public:
  ErrorsToStderr() : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::ERROR_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < rocksdb::InfoLogLevel::ERROR_LEVEL) return;
    char line[512];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

// RocksDB's background threads start their jobs here.
class CountersOffInBackground final : public rocksdb::EventListener {
 public:
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { StopRocksDbCounters(); }
  void OnCompactionBegin(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override { StopRocksDbCounters(); }
  void OnSubcompactionBegin(const rocksdb::SubcompactionJobInfo&) override { StopRocksDbCounters(); }
};

rocksdb::Options StoreOptions(size_t cache_bytes, bool read_only, std::shared_ptr<rocksdb::Cache>* block_cache) {
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
  o.info_log_level = rocksdb::InfoLogLevel::ERROR_LEVEL;
  o.info_log = std::make_shared<ErrorsToStderr>();
  o.listeners.push_back(std::make_shared<CountersOffInBackground>());
  rocksdb::BlockBasedTableOptions t;
  t.block_size = kTableBlockBytes;
#ifdef FLOWSTAT_TSAN_BUILD
  // ThreadSanitizer builds only: RocksDB is not instrumented, and a block that one thread
  // decompressed and another reads through the cache looks like a race whose RocksDB frames are
  // lost (so tests/tsan.supp cannot name them). Without the cache every read decompresses its
  // own copy; flowstat's own synchronization is checked all the same.
  t.no_block_cache = true;
  (void)cache_bytes;
  (void)block_cache;
#else
  // Decompressed blocks, shared by the queries of one process. The default (OpenOptions) holds a
  // week of W2M's chunks: at 32 MB, raw scans of a 7-day window decompressed ZSTD blocks on every
  // query.
  if (cache_bytes == 0) {
    t.no_block_cache = true;
  } else {
    t.block_cache = rocksdb::NewLRUCache(cache_bytes);
    *block_cache = t.block_cache;
    // A reader's index blocks too are read when a query first needs them, into the cache (its
    // high-priority part), not each table's at open: opening a store then costs the same however
    // many table files it has (an empty one-shot query on 32M events: 1.17x the time on 2M before,
    // 1.05x after), and their memory is the cache's, not a sum over the tables. A writer opens
    // once and reads much: it keeps them in its table readers (a W2M import took 1.03x the CPU).
    t.cache_index_and_filter_blocks = read_only;
  }
#endif
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

// What names the store's current file set: CURRENT's content and the length of the MANIFEST it
// names. A writer's flush or compaction appends to the MANIFEST before deleting the files it
// replaced, so an unchanged stamp across a read-only open means the open saw one consistent set.
std::string ManifestStamp(const std::filesystem::path& dir) {
  std::ifstream current(dir / "CURRENT");
  std::string manifest;
  std::getline(current, manifest);
  std::error_code ec;
  const auto size = std::filesystem::file_size(dir / manifest, ec);
  return manifest + "@" + (ec ? std::string("?") : std::to_string(size));
}

namespace {

// RocksDB's read-only open reads the MANIFEST, then opens the tables and logs it names; a writer
// in another process may delete one of them in between (a compaction, a flush, its own open),
// which fails the open with a missing file or, worse, leaves a view without a flushed log. Such an
// open is retried until it sees a file set that did not change while it ran.
rocksdb::Status OpenReadOnlyBesideWriter(const rocksdb::Options& options, const std::string& path,
                                         std::unique_ptr<rocksdb::DB>* db) {
  constexpr int kAttempts = 50;
  rocksdb::Status s;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * attempt, 100)));
    const std::string before = ManifestStamp(path);
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(options, path, &raw);
    db->reset(raw);
    const bool raced = s.ok() ? ManifestStamp(path) != before : s.ToString().find("No such file") != std::string::npos;
    if (!raced) return s;
    db->reset();
  }
  return s.ok() ? rocksdb::Status::Busy("the store's files kept changing during a read-only open") : s;
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

void StopRocksDbCounters() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

Result<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path, const OpenOptions& options) {
  StopRocksDbCounters();  // opening reads the dictionary's index on this thread
  std::unique_ptr<EventStore> store(new EventStore());
  store->read_only_ = options.read_only;
  store->namespace_hash_ = options.namespace_hash ? options.namespace_hash : DefaultNamespaceHash;
  rocksdb::Options ro = StoreOptions(options.cache_bytes, options.read_only, &store->block_cache_);
  store->env_ = NewTableCheckingEnv();
  ro.env = store->env_.get();
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    if (!exists) return Status::NotFound(path + ": no flowstat store here");
    // Its table files are opened on this thread: RocksDB's default started 15 threads to open
    // them whatever their number (a one-shot query: 17 threads for a store of one file).
    ro.max_file_opening_threads = 1;
    std::unique_ptr<rocksdb::DB> opened;
    s = OpenReadOnlyBesideWriter(ro, path, &opened);
    db = opened.release();
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
  int version = 0;
  Status st = store->CheckFormat(!exists, &version);
  if (st.ok() && !options.read_only && version < static_cast<int>(kFormatVersion)) {
    st = store->UpgradeToEntryIndex(version);
    version = static_cast<int>(kFormatVersion);
  }
  store->format_version_ = version;
  store->indexed_kinds_ = version >= 5 ? kIndexedEntryKinds : version == 4 ? kIndexedEntryKindsV4 : "";
  if (st.ok()) {
    if (!options.read_only) {
      st = store->ReadDictionaryBounded(options.dictionary_cache_bytes);
    } else {
      st = version >= 4 ? store->ReadDictionaryLazily() : store->LoadDictionary();
    }
  }
  if (st.ok()) st = store->LoadHorizons();
  if (st.ok() && !options.read_only) st = store->ReleaseEmptyLogs(path);
  if (!st.ok()) return Status(st);
  return store;
}

// RocksDB 7.8 keeps a write-ahead log that a session left empty (opened for writing, nothing
// written) until some flush moves the store past it, and each such open adds one: an hourly
// backup of an idle store would leave 8,760 files a year, each opened by every later open. An
// open that finds logs besides its own writes one record (the format record, unchanged) and
// flushes it; RocksDB then deletes the logs the flush made obsolete.
Status EventStore::ReleaseEmptyLogs(const std::string& path) {
  int logs = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) logs += entry.path().extension() == ".log";
  if (ec || logs <= 1) return Status::Ok();
  if (Status s = WriteFormatRecord(); !s.ok()) return s;
  return FromRocks(db_->Flush(rocksdb::FlushOptions()), "flushing past empty logs");
}

EventStore::~EventStore() {
  if (db_ && !read_only_ && !write_failed_) db_->SyncWAL();
}

Status EventStore::WriteFormatRecord() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, kFormatKey, kFormatDescription), "writing format record");
}

Status EventStore::CheckFormat(bool fresh, int* version) {
  *version = kFormatVersion;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kFormatKey, &value);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!fresh || it->Valid() || read_only_) {
      return Status::Incompatible("not a flowstat store (no format record)");
    }
    return WriteFormatRecord();
  }
  if (!s.ok()) return FromRocks(s, "reading format record");
  if (value == kFormatDescriptionV2) {
    *version = 2;
  } else if (value == kFormatDescriptionV4) {
    *version = 4;
  } else if (value == kFormatDescriptionV3) {
    *version = 3;
  } else if (value != kFormatDescription) {
    return Status::Incompatible("store format '" + value + "' is not the supported '" +
                                std::string(kFormatDescription) + "'");
  }
  return Status::Ok();
}

void EventStore::AddDictionaryEntries(std::span<const std::pair<uint32_t, std::string_view>> entries,
                                      rocksdb::WriteBatch* wb) {
  for (const auto& [id, entry] : entries) wb->Put(DictionaryKey(id), rocksdb::Slice(entry.data(), entry.size()));
  // The index keys in key order (an index key is 'X' + the entry): the memtable inserts each next
  // to the one before instead of searching its skip list from the top, which for the details of
  // a batch, in random order, cost 13% of a W2M import's CPU; in order, about 1%.
  std::vector<const std::pair<uint32_t, std::string_view>*> by_text;
  by_text.reserve(entries.size());
  for (const auto& e : entries) {
    if (!e.second.empty()) by_text.push_back(&e);
  }
  std::sort(by_text.begin(), by_text.end(), [](const auto* a, const auto* b) { return a->second < b->second; });
  for (const auto* e : by_text) wb->Put(EntryIndexKey(e->second[0], e->second.substr(1)), EntryIndexValue(e->first));
}

Status EventStore::UpgradeToEntryIndex(int version) {
  // Streamed in batches of a few MB whatever the dictionary's size; the format record goes last,
  // so an upgrade cut short is done again (rewriting a key is harmless).
  constexpr size_t kBatchBytes = 4 << 20;
  const std::string_view already = version == 4 ? kIndexedEntryKindsV4 : "";
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string first(1, kDictionaryPrefix);
  for (it->Seek(first); it->Valid() && it->key()[0] == kDictionaryPrefix; it->Next()) {
    uint32_t id;
    const std::string_view entry = it->value().ToStringView();
    if (!ParseDictionaryKey(it->key().ToStringView(), &id) || entry.empty()) {
      return Status::Corruption("malformed dictionary entry at key " + it->key().ToString(true));
    }
    if (IsIndexedEntryKind(entry[0], already)) continue;
    wb.Put(EntryIndexKey(entry[0], entry.substr(1)), EntryIndexValue(id));
    if (wb.GetDataSize() >= kBatchBytes) {
      if (Status s = WriteToDb(rocksdb::WriteOptions(), &wb, "upgrading the store: writing the entry index"); !s.ok()) {
        return s;
      }
      wb.Clear();
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "upgrading the store: reading the dictionary");
  wb.Put(kFormatKey, rocksdb::Slice(kFormatDescription.data(), kFormatDescription.size()));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return WriteToDb(wo, &wb, "upgrading the store to format " + std::to_string(kFormatVersion));
}

namespace {

// The store's 'D' entries and 'X' index, read as a lazily read or a bounded dictionary asks.
class StoreEntrySource final : public EntrySource {
 public:
  StoreEntrySource(rocksdb::DB& db, std::string_view indexed_kinds) : db_(db), indexed_kinds_(indexed_kinds) {}
  Status Entry(uint32_t id, std::string* entry) const override {
    return FromRocks(db_.Get(rocksdb::ReadOptions(), DictionaryKey(id), entry),
                     "reading dictionary entry " + std::to_string(id));
  }
  Status Find(char kind, std::string_view payload, uint32_t* id) const override {
    if (!IsIndexedEntryKind(kind, indexed_kinds_))
      return Status::InvalidArgument("entries of this kind are not indexed");
    std::string value;
    rocksdb::Status s = db_.Get(rocksdb::ReadOptions(), EntryIndexKey(kind, payload), &value);
    *id = 0;
    if (s.IsNotFound()) return Status::Ok();
    if (!s.ok()) return FromRocks(s, "reading the entry index");
    return ParseEntryIndexValue(value, id) ? Status::Ok() : Status::Corruption("malformed entry index value");
  }
  // A lookup of an entry not yet read decompresses a table block; the pass decompresses the
  // kind's index keys, whose compressed size RocksDB estimates from its table indexes (bottom
  // level ZSTD blocks hold about three times their size).
  bool IndexPassCheaper(char kind, size_t lookups) const override {
    if (!IsIndexedEntryKind(kind, indexed_kinds_)) return false;
    const std::string begin = EntryIndexKey(kind, ""), end = EntryIndexKey(static_cast<char>(kind + 1), "");
    const rocksdb::Range range(begin, end);
    uint64_t bytes = 0;
    rocksdb::SizeApproximationOptions options;
    options.include_memtables = true;
    if (!db_.GetApproximateSizes(options, db_.DefaultColumnFamily(), &range, 1, &bytes).ok()) return false;
    return 3 * bytes < lookups * kTableBlockBytes;
  }
  Status ForEachIndexed(char kind, const std::function<bool(std::string_view, uint32_t)>& visit) const override {
    const std::string begin = EntryIndexKey(kind, ""), end = EntryIndexKey(static_cast<char>(kind + 1), "");
    const rocksdb::Slice upper(end);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(options));
    for (it->Seek(begin); it->Valid(); it->Next()) {
      uint32_t id;
      if (!ParseEntryIndexValue(it->value().ToStringView(), &id))
        return Status::Corruption("malformed entry index value");
      if (!visit(it->key().ToStringView().substr(begin.size()), id)) break;
    }
    return FromRocks(it->status(), "reading the entry index");
  }

 private:
  rocksdb::DB& db_;
  const std::string_view indexed_kinds_;
};

}  // namespace

uint32_t EventStore::LastDictionaryId(rocksdb::Iterator* it, Status* error) const {
  uint32_t size = 0;
  it->SeekForPrev(DictionaryKey(UINT32_MAX));
  if (it->Valid() && it->key()[0] == kDictionaryPrefix && !ParseDictionaryKey(it->key().ToStringView(), &size)) {
    *error = Status::Corruption("malformed dictionary key");
  }
  if (!it->status().ok()) *error = FromRocks(it->status(), "reading the dictionary");
  return size;
}

Status EventStore::ReadDictionaryBounded(size_t cache_bytes) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Status s;
  const uint32_t size = LastDictionaryId(it.get(), &s);
  if (!s.ok()) return s;
  dictionary_.ReadBounded(std::make_unique<StoreEntrySource>(*db_, indexed_kinds_), size, cache_bytes);
  // Every entry through its index key, kind by kind: what the dictionary keeps in memory.
  const std::string first(1, kEntryIndexPrefix);
  for (it->Seek(first); it->Valid() && it->key()[0] == kEntryIndexPrefix; it->Next()) {
    const std::string_view key = it->key().ToStringView();
    uint32_t id;
    if (key.size() < 2 || !ParseEntryIndexValue(it->value().ToStringView(), &id)) {
      return Status::Corruption("malformed entry index key " + it->key().ToString(true));
    }
    if (s = dictionary_.Restore(id, key[1], key.substr(2)); !s.ok()) return s;
  }
  return FromRocks(it->status(), "reading the entry index");
}

Status EventStore::ReadDictionaryLazily() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  Status s;
  const uint32_t size = LastDictionaryId(it.get(), &s);
  if (!s.ok()) return s;
  std::vector<uint32_t> namespace_ids;
  const std::string namespaces = EntryIndexKey(static_cast<char>(schema::EntryKind::kNamespace), "");
  for (it->Seek(namespaces); it->Valid() && it->key().starts_with(namespaces); it->Next()) {
    uint32_t id;
    if (!ParseEntryIndexValue(it->value().ToStringView(), &id))
      return Status::Corruption("malformed entry index value");
    namespace_ids.push_back(id);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the entry index");
  return dictionary_.ReadLazily(std::make_unique<StoreEntrySource>(*db_, indexed_kinds_), size,
                                std::move(namespace_ids));
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
    return Status::Busy(
        "this thread is the store's writer already (a Loader it created is alive): "
        "finish and destroy the Loader first");
  }
  return std::move(*lease);
}

Result<std::string> EventStore::ReadCheckpoint(std::string_view name) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), CheckpointKey(name), &value);
  if (s.IsNotFound()) return Status::NotFound("no checkpoint named '" + std::string(name) + "'");
  if (!s.ok()) return FromRocks(s, "reading checkpoint");
  return value;
}

}  // namespace flowstat::storage
