#include "storage/dictionary.h"

#include <mutex>
#include <xxhash.h>

namespace flowstat::storage {

size_t Dictionary::Hash::operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }

Status Dictionary::Load(uint32_t id, std::string_view entry) {
  std::unique_lock lock(mu_);
  if (id != entries_.size() + 1) {
    return Status::Corruption("dictionary id " + std::to_string(id) + " out of sequence");
  }
  if (entry.empty()) return Status::Corruption("empty dictionary entry " + std::to_string(id));
  entries_.emplace_back(entry);
  if (!index_.emplace(entries_.back(), id).second) {
    return Status::Corruption("duplicate dictionary entry " + std::to_string(id));
  }
  persisted_ = id;
  return Status::Ok();
}

uint32_t Dictionary::FindLocked(std::string_view entry) const {
  auto it = index_.find(entry);
  return it == index_.end() ? 0 : it->second;
}

uint32_t Dictionary::Intern(schema::EntryKind kind, std::string_view payload) {
  scratch_.assign(1, static_cast<char>(kind));
  scratch_.append(payload);
  // Only this (writer) thread mutates: looking up without the lock is safe.
  if (uint32_t id = FindLocked(scratch_)) return id;
  std::unique_lock lock(mu_);
  entries_.push_back(scratch_);
  const auto id = static_cast<uint32_t>(entries_.size());
  index_.emplace(entries_.back(), id);
  return id;
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
  std::string entry(1, static_cast<char>(kind));
  entry.append(payload);
  return dict_.FindLocked(entry);
}

}  // namespace flowstat::storage
