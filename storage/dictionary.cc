#include "storage/dictionary.h"

#include <xxhash.h>
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
    std::string_view e = EntryAt(id);
    return e[0] == kind && e.substr(1) == payload;
  });
}

void Dictionary::Add(char kind, std::string_view payload, uint64_t hash) {
  const auto size = static_cast<uint32_t>(payload.size() + 1);
  char* at = bytes_.Allocate(4 + size);
  std::memcpy(at, &size, 4);
  at[4] = kind;
  if (!payload.empty()) std::memcpy(at + 5, payload.data(), payload.size());
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
  const uint64_t hash = HashOf(payload);
  // Only this (writer) thread mutates: looking up without the lock is safe.
  if (uint32_t id = FindLocked(static_cast<char>(kind), payload, hash)) return id;
  std::unique_lock lock(mu_);
  Add(static_cast<char>(kind), payload, hash);
  return static_cast<uint32_t>(entries_.size());
}

std::vector<std::pair<uint32_t, std::string_view>> Dictionary::TakePending() {
  std::vector<std::pair<uint32_t, std::string_view>> pending;
  for (uint32_t id = persisted_ + 1; id <= entries_.size(); ++id) pending.emplace_back(id, EntryAt(id));
  persisted_ = static_cast<uint32_t>(entries_.size());
  return pending;
}

std::optional<std::string_view> Dictionary::Reader::Payload(uint32_t id, schema::EntryKind kind) const {
  if (id == 0 || id > dict_.entries_.size()) return std::nullopt;
  std::string_view e = dict_.EntryAt(id);
  if (e[0] != static_cast<char>(kind)) return std::nullopt;
  return e.substr(1);
}

uint32_t Dictionary::Reader::Find(schema::EntryKind kind, std::string_view payload) const {
  return dict_.FindLocked(static_cast<char>(kind), payload, HashOf(payload));
}

}  // namespace flowstat::storage
