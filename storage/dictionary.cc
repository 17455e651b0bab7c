#include "storage/dictionary.h"

#include <mutex>
#include <xxhash.h>

namespace flowstat::storage {

uint64_t Dictionary::HashOf(schema::EntryKind kind, std::string_view payload) {
  return XXH3_64bits_withSeed(payload.data(), payload.size(), static_cast<uint8_t>(kind));
}

uint32_t Dictionary::FindLocked(schema::EntryKind kind, std::string_view payload, uint64_t hash) const {
  return index_.Find(hash, [&](uint32_t id) {
    std::string_view e = entries_[id - 1];
    return e[0] == static_cast<char>(kind) && e.substr(1) == payload;
  });
}

void Dictionary::Add(std::string entry, uint64_t hash) {
  const bool is_namespace = entry[0] == static_cast<char>(schema::EntryKind::kNamespace);
  entries_.push_back(std::move(entry));
  const auto id = static_cast<uint32_t>(entries_.size());
  index_.Insert(hash, id);
  if (is_namespace) namespace_ids_.push_back(id);
}

Status Dictionary::Load(uint32_t id, std::string_view entry) {
  std::unique_lock lock(mu_);
  if (id != entries_.size() + 1) {
    return Status::Corruption("dictionary id " + std::to_string(id) + " out of sequence");
  }
  if (entry.empty()) return Status::Corruption("empty dictionary entry " + std::to_string(id));
  const auto kind = static_cast<schema::EntryKind>(entry[0]);
  const uint64_t hash = HashOf(kind, entry.substr(1));
  if (FindLocked(kind, entry.substr(1), hash) != 0) {
    return Status::Corruption("duplicate dictionary entry " + std::to_string(id));
  }
  Add(std::string(entry), hash);
  persisted_ = id;
  return Status::Ok();
}

uint32_t Dictionary::Intern(schema::EntryKind kind, std::string_view payload) {
  const uint64_t hash = HashOf(kind, payload);
  // Only this (writer) thread mutates: looking up without the lock is safe.
  if (uint32_t id = FindLocked(kind, payload, hash)) return id;
  std::string entry;
  entry.reserve(payload.size() + 1);
  entry.push_back(static_cast<char>(kind));
  entry.append(payload);
  std::unique_lock lock(mu_);
  Add(std::move(entry), hash);
  return static_cast<uint32_t>(entries_.size());
}

std::vector<std::pair<uint32_t, std::string_view>> Dictionary::TakePending() {
  std::vector<std::pair<uint32_t, std::string_view>> pending;
  for (uint32_t id = persisted_ + 1; id <= entries_.size(); ++id) pending.emplace_back(id, entries_[id - 1]);
  persisted_ = static_cast<uint32_t>(entries_.size());
  return pending;
}

std::optional<std::string_view> Dictionary::Reader::Payload(uint32_t id, schema::EntryKind kind) const {
  if (id == 0 || id > dict_.entries_.size()) return std::nullopt;
  std::string_view e = dict_.entries_[id - 1];
  if (e[0] != static_cast<char>(kind)) return std::nullopt;
  return e.substr(1);
}

uint32_t Dictionary::Reader::Find(schema::EntryKind kind, std::string_view payload) const {
  return dict_.FindLocked(kind, payload, HashOf(kind, payload));
}

}  // namespace flowstat::storage
