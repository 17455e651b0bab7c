#include "storage/dictionary.h"

#include <xxhash.h>
#include <algorithm>
#include <cassert>
#include <cstring>
#include <mutex>

namespace flowstat::storage {

size_t Dictionary::KindSlot(char kind) {
  switch (static_cast<schema::EntryKind>(kind)) {
    case schema::EntryKind::kNamespace:
      return 0;
    case schema::EntryKind::kEntityId:
      return 1;
    case schema::EntryKind::kTag:
      return 2;
    case schema::EntryKind::kTagList:
      return 3;
    case schema::EntryKind::kAddress:
      return 4;
    case schema::EntryKind::kDetails:
      return 5;
  }
  return 6;
}

bool Dictionary::IsCachedKind(char kind) {
  return kind == static_cast<char>(schema::EntryKind::kAddress) ||
         kind == static_cast<char>(schema::EntryKind::kDetails);
}

uint64_t Dictionary::HashOf(std::string_view payload) { return XXH3_64bits(payload.data(), payload.size()); }

const char* Dictionary::Keep(util::ByteArena* arena, uint32_t id, char kind, std::string_view payload) {
  const auto size = static_cast<uint32_t>(payload.size() + 1);
  char* at = arena->Allocate(8 + size);
  std::memcpy(at, &id, 4);
  std::memcpy(at + 4, &size, 4);
  at[8] = kind;
  if (!payload.empty()) std::memcpy(at + 9, payload.data(), payload.size());
  return at;
}

uint32_t Dictionary::FindKept(const util::HashIndex& index, const std::vector<const char*>& kept, char kind,
                              std::string_view payload, uint64_t hash) {
  const uint32_t ref = index.Find(hash, [&](uint32_t r) {
    std::string_view e = Stored(kept[r - 1]);
    return e[0] == kind && e.substr(1) == payload;
  });
  return ref == 0 ? 0 : IdOf(kept[ref - 1]);
}

std::string_view Dictionary::ReadKept(const EntrySource& source, uint32_t id, util::ByteArena* arena,
                                      std::unordered_map<uint32_t, const char*>* read, Status* error) {
  if (auto it = read->find(id); it != read->end()) return Stored(it->second);
  std::string entry;
  Status s = source.Entry(id, &entry);
  if (s.ok() && entry.empty()) s = Status::Corruption("empty dictionary entry " + std::to_string(id));
  if (!s.ok()) {
    *error = s;
    return {};
  }
  const char* at = Keep(arena, id, entry[0], std::string_view(entry).substr(1));
  read->emplace(id, at);
  return Stored(at);
}

uint32_t Dictionary::FindResident(char kind, std::string_view payload, uint64_t hash) const {
  return FindKept(index_[KindSlot(kind)], resident_, kind, payload, hash);
}

const char* Dictionary::ResidentEntry(uint32_t id) const {
  const uint32_t ref = by_id_.Find(HashOfId(id), [&](uint32_t r) { return IdOf(resident_[r - 1]) == id; });
  return ref == 0 ? nullptr : resident_[ref - 1];
}

const char* Dictionary::AddResident(uint32_t id, char kind, std::string_view payload, uint64_t hash) {
  const char* at = Keep(&bytes_, id, kind, payload);
  resident_.push_back(at);
  const auto ref = static_cast<uint32_t>(resident_.size());
  index_[KindSlot(kind)].Insert(hash, ref);
  by_id_.Insert(HashOfId(id), ref);
  if (kind == static_cast<char>(schema::EntryKind::kNamespace)) {
    namespace_ids_.insert(std::upper_bound(namespace_ids_.begin(), namespace_ids_.end(), id), id);
  }
  return at;
}

uint32_t Dictionary::Generation::Find(char kind, std::string_view payload, uint64_t hash) const {
  return FindKept(index, entries, kind, payload, hash);
}

const char* Dictionary::Generation::Add(uint32_t id, char kind, std::string_view payload, uint64_t hash) {
  const char* at = Keep(&bytes, id, kind, payload);
  entries.push_back(at);
  index.Insert(hash, static_cast<uint32_t>(entries.size()));
  return at;
}

void Dictionary::Generation::Clear() {
  bytes.Reset();  // keeps its blocks for the next generation
  entries.clear();
  index.Clear();
  newest_created = 0;
}

const char* Dictionary::AddCached(uint32_t id, char kind, std::string_view payload, uint64_t hash) {
  if (young_.Bytes() >= cache_bytes_ / 2 && old_.newest_created <= written_.load(std::memory_order_acquire)) {
    if (!old_.entries.empty()) cache_complete_ = false;
    std::swap(young_, old_);
    young_.Clear();
  }
  return young_.Add(id, kind, payload, hash);
}

void Dictionary::ForgetWrittenCache() {
  if (mode_ != Mode::kBounded) return;
  for (Generation* g : {&young_, &old_}) {
    if (g->entries.empty() || g->newest_created > written_.load(std::memory_order_acquire)) continue;
    *g = Generation();  // its memory too, not only its entries
    cache_complete_ = false;
  }
}

uint32_t Dictionary::NextId() {
  const uint32_t id = size_.load(std::memory_order_relaxed) + 1;
  size_.store(id, std::memory_order_release);
  return id;
}

Status Dictionary::Load(uint32_t id, std::string_view entry) {
  std::unique_lock lock(mu_);
  if (id != Size() + 1) return Status::Corruption("dictionary id " + std::to_string(id) + " out of sequence");
  if (entry.empty()) return Status::Corruption("empty dictionary entry " + std::to_string(id));
  const std::string_view payload = entry.substr(1);
  const uint64_t hash = HashOf(payload);
  if (FindResident(entry[0], payload, hash) != 0) {
    return Status::Corruption("duplicate dictionary entry " + std::to_string(id));
  }
  AddResident(id, entry[0], payload, hash);
  size_.store(id, std::memory_order_release);
  return Status::Ok();
}

void Dictionary::ReadBounded(std::unique_ptr<EntrySource> source, uint32_t size, size_t cache_bytes) {
  std::unique_lock lock(mu_);
  mode_ = Mode::kBounded;
  source_ = std::move(source);
  size_.store(size, std::memory_order_release);
  written_.store(size, std::memory_order_release);
  cache_bytes_ = cache_bytes;
}

Status Dictionary::Restore(uint32_t id, char kind, std::string_view payload) {
  if (id == 0 || id > Size()) {
    return Status::Corruption("the entry index names entry " + std::to_string(id) + ", past the dictionary's last");
  }
  const uint64_t hash = HashOf(payload);
  if (IsCachedKind(kind)) {
    AddCached(id, kind, payload, hash);
    return Status::Ok();
  }
  std::unique_lock lock(mu_);
  if (ResidentEntry(id) != nullptr)
    return Status::Corruption("the entry index names entry " + std::to_string(id) + " twice");
  AddResident(id, kind, payload, hash);
  return Status::Ok();
}

uint32_t Dictionary::Intern(schema::EntryKind kind, std::string_view payload) {
  assert(mode_ != Mode::kLazy && "a lazily read dictionary belongs to a read-only store");
  const char k = static_cast<char>(kind);
  const uint64_t hash = HashOf(payload);
  if (mode_ == Mode::kBounded && IsCachedKind(k)) return InternCached(k, payload, hash);
  // Only this (writer) thread adds entries: looking up without the lock is safe.
  if (uint32_t id = FindResident(k, payload, hash)) return id;
  std::unique_lock lock(mu_);
  const uint32_t id = NextId();
  pending_.emplace_back(id, Stored(AddResident(id, k, payload, hash)));
  return id;
}

void Dictionary::Prefetch(schema::EntryKind kind, std::string_view payload) {
  if (mode_ != Mode::kBounded || !IsCachedKind(static_cast<char>(kind))) return;
  const uint64_t hash = HashOf(payload);
  young_.index.Prefetch(hash);
  old_.index.Prefetch(hash);
}

uint32_t Dictionary::InternCached(char kind, std::string_view payload, uint64_t hash) {
  if (uint32_t id = young_.Find(kind, payload, hash)) return id;
  uint32_t id = old_.Find(kind, payload, hash);
  if (id == 0 && !cache_complete_) {
    // Past the cache: the index knows. Entries still pending are in the cache (never forgotten
    // before written), so an entry the index lacks is new.
    if (Status s = source_->Find(kind, payload, &id); !s.ok()) {
      if (intern_status_.ok()) intern_status_ = s;
      id = 0;
    }
  }
  if (id != 0) {
    AddCached(id, kind, payload, hash);
    return id;
  }
  id = NextId();
  pending_.emplace_back(id, Stored(AddCached(id, kind, payload, hash)));
  young_.newest_created = id;
  return id;
}

std::vector<std::pair<uint32_t, std::string_view>> Dictionary::TakePending() {
  std::vector<std::pair<uint32_t, std::string_view>> pending;
  pending.swap(pending_);
  return pending;
}

Status Dictionary::ReadLazily(std::unique_ptr<EntrySource> source, uint32_t size, std::vector<uint32_t> namespace_ids) {
  std::unique_lock lock(mu_);
  mode_ = Mode::kLazy;
  source_ = std::move(source);
  size_.store(size, std::memory_order_release);
  namespace_ids_ = std::move(namespace_ids);
  std::sort(namespace_ids_.begin(), namespace_ids_.end());
  // Every query reads every namespace entry: read them now, and learn of a damaged index at open.
  for (uint32_t id : namespace_ids_) {
    Status error;
    const std::string_view e = id == 0 || id > size ? std::string_view() : LazyEntry(id, &error);
    if (!error.ok()) return error;
    if (e.empty() || e[0] != static_cast<char>(schema::EntryKind::kNamespace)) {
      return Status::Corruption("the entry index names entry " + std::to_string(id) + " a namespace; it is not one");
    }
  }
  return Status::Ok();
}

std::string_view Dictionary::LazyEntry(uint32_t id, Status* error) const {
  util::MutexLock lock(&lazy_mu_);
  return ReadKept(*source_, id, &lazy_bytes_, &lazy_entries_, error);
}

void Dictionary::LazyEntries(std::span<const uint32_t> ids, std::vector<std::string_view>* out, Status* error) const {
  const uint32_t size = Size();
  util::MutexLock lock(&lazy_mu_);
  for (uint32_t id : ids) {
    // An id past the dictionary is not looked up (as Reader::Payload): an empty entry.
    out->push_back(id == 0 || id > size ? std::string_view()
                                        : ReadKept(*source_, id, &lazy_bytes_, &lazy_entries_, error));
    if (!error->ok()) return;
  }
}

std::vector<uint32_t> Dictionary::LazyUnread(const std::vector<uint32_t>& ids) const {
  std::vector<uint32_t> unread;
  util::MutexLock lock(&lazy_mu_);
  for (uint32_t id : ids) {
    if (!lazy_entries_.contains(id)) unread.push_back(id);
  }
  return unread;
}

Status Dictionary::LazyPrefetch(char kind, const std::vector<uint32_t>& ids) const {
  const std::vector<uint32_t> missing = LazyUnread(ids);
  if (missing.empty() || !source_->IndexPassCheaper(kind, missing.size())) return Status::Ok();
  // The pass reads the store without the lock: lookups of other queries go on meanwhile.
  std::vector<std::pair<uint32_t, std::string>> found;
  Status s = source_->ForEachIndexed(kind, [&](std::string_view payload, uint32_t id) {
    if (std::binary_search(missing.begin(), missing.end(), id)) found.emplace_back(id, payload);
    return found.size() < missing.size();
  });
  if (!s.ok()) return s;
  util::MutexLock lock(&lazy_mu_);
  for (const auto& [id, payload] : found) {
    if (!lazy_entries_.contains(id)) lazy_entries_.emplace(id, Keep(&lazy_bytes_, id, kind, payload));
  }
  return Status::Ok();
}

uint32_t Dictionary::LazyFind(char kind, std::string_view payload, Status* error) const {
  std::string key(1, kind);
  key.append(payload);
  util::MutexLock lock(&lazy_mu_);
  if (auto it = lazy_ids_.find(key); it != lazy_ids_.end()) return it->second;
  uint32_t id = 0;
  if (Status s = source_->Find(kind, payload, &id); !s.ok()) {
    *error = s;
    return 0;
  }
  lazy_ids_.emplace(std::move(key), id);
  return id;
}

std::string_view Dictionary::Reader::Entry(uint32_t id) const {
  if (dict_.mode_ == Mode::kLazy) {
    Status error;
    const std::string_view e = dict_.LazyEntry(id, &error);
    if (!error.ok()) Failed(error);
    return e;
  }
  if (const char* at = dict_.ResidentEntry(id)) return Stored(at);
  return dict_.mode_ == Mode::kBounded ? ReadStored(id) : std::string_view();
}

std::string_view Dictionary::Reader::ReadStored(uint32_t id) const {
  util::MutexLock lock(&mu_);
  Status error;
  const std::string_view e = ReadKept(*dict_.source_, id, &read_bytes_, &read_, &error);
  if (!error.ok() && error_.ok()) error_ = error;
  return e;
}

void Dictionary::Reader::Failed(const Status& s) const {
  util::MutexLock lock(&mu_);
  if (error_.ok()) error_ = s;
}

Status Dictionary::Reader::status() const {
  util::MutexLock lock(&mu_);
  return error_;
}

void Dictionary::Reader::Prefetch(schema::EntryKind kind, const std::vector<uint32_t>& ids) const {
  if (dict_.mode_ != Mode::kLazy) return;
  if (Status s = dict_.LazyPrefetch(static_cast<char>(kind), ids); !s.ok()) Failed(s);
}

size_t Dictionary::Reader::Unread(const std::vector<uint32_t>& ids) const {
  return dict_.mode_ == Mode::kLazy ? dict_.LazyUnread(ids).size() : 0;
}

std::optional<std::string_view> Dictionary::Reader::Payload(uint32_t id, schema::EntryKind kind) const {
  if (id == 0 || id > dict_.Size()) return std::nullopt;
  std::string_view e = Entry(id);
  if (e.empty() || e[0] != static_cast<char>(kind)) return std::nullopt;
  return e.substr(1);
}

void Dictionary::Reader::Payloads(std::span<const uint32_t> ids, schema::EntryKind kind,
                                  std::vector<std::optional<std::string_view>>* out) const {
  out->clear();
  out->reserve(ids.size());
  if (dict_.mode_ != Mode::kLazy) {
    for (uint32_t id : ids) out->push_back(Payload(id, kind));
    return;
  }
  std::vector<std::string_view> entries;
  entries.reserve(ids.size());
  Status error;
  dict_.LazyEntries(ids, &entries, &error);
  if (!error.ok()) Failed(error);
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string_view e = i < entries.size() ? entries[i] : std::string_view();  // short after an error
    out->push_back(!e.empty() && e[0] == static_cast<char>(kind) ? std::optional(e.substr(1)) : std::nullopt);
  }
}

uint32_t Dictionary::Reader::Find(schema::EntryKind kind, std::string_view payload) const {
  const char k = static_cast<char>(kind);
  Status error;
  uint32_t id = 0;
  if (dict_.mode_ == Mode::kLazy) {
    id = dict_.LazyFind(k, payload, &error);
  } else if (dict_.mode_ == Mode::kBounded && IsCachedKind(k)) {
    error = dict_.source_->Find(k, payload, &id);  // the cache is the writer's: ask the store
  } else {
    id = dict_.FindResident(k, payload, HashOf(payload));
  }
  if (!error.ok()) Failed(error);
  return error.ok() ? id : 0;
}

}  // namespace flowstat::storage
