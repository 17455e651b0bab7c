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

uint64_t Dictionary::HashOf(std::string_view payload) { return XXH3_64bits(payload.data(), payload.size()); }

uint32_t Dictionary::FindLocked(char kind, std::string_view payload, uint64_t hash) const {
  return index_[KindSlot(kind)].Find(hash, [&](uint32_t id) {
    std::string_view e = Stored(entries_[id - 1]);
    return e[0] == kind && e.substr(1) == payload;
  });
}

// Copies an entry into `arena` in the layout Stored reads.
static char* CopyEntry(util::ByteArena* arena, char kind, std::string_view payload) {
  const auto size = static_cast<uint32_t>(payload.size() + 1);
  char* at = arena->Allocate(4 + size);
  std::memcpy(at, &size, 4);
  at[4] = kind;
  if (!payload.empty()) std::memcpy(at + 5, payload.data(), payload.size());
  return at;
}

void Dictionary::Add(char kind, std::string_view payload, uint64_t hash) {
  char* at = CopyEntry(&bytes_, kind, payload);
  entries_.push_back(at);
  const auto id = static_cast<uint32_t>(entries_.size());
  index_[KindSlot(kind)].Insert(hash, id);
  if (kind == static_cast<char>(schema::EntryKind::kNamespace)) namespace_ids_.push_back(id);
}

Status Dictionary::Load(uint32_t id, std::string_view entry) {
  std::unique_lock lock(mu_);
  if (id != entries_.size() + 1) {
    return Status::Corruption("dictionary id " + std::to_string(id) + " out of sequence");
  }
  if (entry.empty()) return Status::Corruption("empty dictionary entry " + std::to_string(id));
  const std::string_view payload = entry.substr(1);
  const uint64_t hash = HashOf(payload);
  if (FindLocked(entry[0], payload, hash) != 0) {
    return Status::Corruption("duplicate dictionary entry " + std::to_string(id));
  }
  Add(entry[0], payload, hash);
  persisted_ = id;
  return Status::Ok();
}

uint32_t Dictionary::Intern(schema::EntryKind kind, std::string_view payload) {
  assert(!lazy_ && "a lazily read dictionary belongs to a read-only store");
  const uint64_t hash = HashOf(payload);
  // Only this (writer) thread mutates: looking up without the lock is safe.
  if (uint32_t id = FindLocked(static_cast<char>(kind), payload, hash)) return id;
  std::unique_lock lock(mu_);
  Add(static_cast<char>(kind), payload, hash);
  return static_cast<uint32_t>(entries_.size());
}

std::vector<std::pair<uint32_t, std::string_view>> Dictionary::TakePending() {
  std::vector<std::pair<uint32_t, std::string_view>> pending;
  for (uint32_t id = persisted_ + 1; id <= entries_.size(); ++id) pending.emplace_back(id, Stored(entries_[id - 1]));
  persisted_ = static_cast<uint32_t>(entries_.size());
  return pending;
}

Status Dictionary::ReadLazily(std::unique_ptr<EntrySource> source, uint32_t size, std::vector<uint32_t> namespace_ids) {
  std::unique_lock lock(mu_);
  lazy_ = std::move(source);
  lazy_size_ = size;
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
  if (auto it = lazy_entries_.find(id); it != lazy_entries_.end()) return Stored(it->second);
  std::string entry;
  Status s = lazy_->Entry(id, &entry);
  if (s.ok() && entry.empty()) s = Status::Corruption("empty dictionary entry " + std::to_string(id));
  if (!s.ok()) {
    *error = s;
    return {};
  }
  const char* at = CopyEntry(&lazy_bytes_, entry[0], std::string_view(entry).substr(1));
  lazy_entries_.emplace(id, at);
  return Stored(at);
}

uint32_t Dictionary::LazyFind(char kind, std::string_view payload, Status* error) const {
  std::string key(1, kind);
  key.append(payload);
  util::MutexLock lock(&lazy_mu_);
  if (auto it = lazy_ids_.find(key); it != lazy_ids_.end()) return it->second;
  uint32_t id = 0;
  if (Status s = lazy_->Find(kind, payload, &id); !s.ok()) {
    *error = s;
    return 0;
  }
  lazy_ids_.emplace(std::move(key), id);
  return id;
}

std::string_view Dictionary::Reader::Entry(uint32_t id) const {
  if (!dict_.lazy_) return Stored(dict_.entries_[id - 1]);
  Status error;
  const std::string_view e = dict_.LazyEntry(id, &error);
  if (!error.ok()) Failed(error);
  return e;
}

void Dictionary::Reader::Failed(const Status& s) const {
  util::MutexLock lock(&error_mu_);
  if (error_.ok()) error_ = s;
}

Status Dictionary::Reader::status() const {
  util::MutexLock lock(&error_mu_);
  return error_;
}

std::optional<std::string_view> Dictionary::Reader::Payload(uint32_t id, schema::EntryKind kind) const {
  if (id == 0 || id > dict_.Size()) return std::nullopt;
  std::string_view e = Entry(id);
  if (e.empty() || e[0] != static_cast<char>(kind)) return std::nullopt;
  return e.substr(1);
}

uint32_t Dictionary::Reader::Find(schema::EntryKind kind, std::string_view payload) const {
  if (!dict_.lazy_) return dict_.FindLocked(static_cast<char>(kind), payload, HashOf(payload));
  Status error;
  const uint32_t id = dict_.LazyFind(static_cast<char>(kind), payload, &error);
  if (!error.ok()) Failed(error);
  return id;
}

}  // namespace flowstat::storage
