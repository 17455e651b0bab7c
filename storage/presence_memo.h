// PresenceMemo: the presence keys (kind, dictionary id, day, namespace hash) this process has
// already written, so that the write path skips rewriting them. An open-addressing set of 16-byte
// entries: one cache miss per lookup and no allocation per entry.
#pragma once

#include <cstdint>
#include <vector>

namespace flowstat::storage {

class PresenceMemo {
 public:
  // Entries beyond which the memo starts over (rewriting a presence key is harmless).
  static constexpr size_t kMaxEntries = 3 << 17;

  // True when (kind, id, day, namespace_hash) was not yet remembered; remembers it.
  // REQUIRES: id != 0, day < 2^24.
  bool Insert(uint8_t kind, uint32_t id, uint32_t day, uint64_t namespace_hash) {
    if (count_ >= kMaxEntries || slots_.empty()) Reset();
    const Slot key{namespace_hash, uint64_t{id} << 32 | uint64_t{day} << 8 | kind};
    for (size_t i = Mix(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.rest == 0) {
        s = key;
        ++count_;
        return true;
      }
      if (s.rest == key.rest && s.ns == key.ns) return false;
    }
  }

  void Clear() { slots_.clear(); }

 private:
  struct Slot {
    uint64_t ns = 0;
    uint64_t rest = 0;  // id << 32 | day << 8 | kind; never 0 for an entry (id != 0)
  };

  static size_t Mix(const Slot& s) {
    const uint64_t h = (s.ns ^ (s.rest * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return static_cast<size_t>(h ^ (h >> 32));
  }

  void Reset() {
    // Load factor stays <= 3/4: linear probing remains short.
    slots_.assign(size_t{1} << 19, Slot{});
    mask_ = slots_.size() - 1;
    count_ = 0;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace flowstat::storage
