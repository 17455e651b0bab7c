// HashIndex: an open-addressing table from 64-bit hashes to non-zero 32-bit references, for
// string -> id maps whose strings the caller stores. Faster and smaller than a node-based map on
// the write path's millions of lookups; the caller decides what a reference's key is. A slot is
// 8 bytes: 32 bits of the hash (which also pick the probe position) and the reference.
#pragma once

#include <cstdint>
#include <vector>

namespace flowstat::util {

class HashIndex {
 public:
  // The first reference inserted with `hash` for which matches(ref) is true, else 0.
  template <typename Matches>
  uint32_t Find(uint64_t hash, Matches&& matches) const {
    if (slots_.empty()) return 0;
    for (size_t i = Tag(hash) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.ref == 0) return 0;
      if (s.tag == Tag(hash) && matches(s.ref)) return s.ref;
    }
  }

  // Starts loading the slot a Find of `hash` reads first.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Tag(hash) & mask_]);
  }

  // REQUIRES: ref != 0 and no equal key inserted before.
  void Insert(uint64_t hash, uint32_t ref) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    Place(Tag(hash), ref);
    ++count_;
  }

  size_t size() const { return count_; }
  // Bytes of the table (kept at most half full).
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }
  void Clear() {
    slots_ = {};  // its memory too: the next Insert allocates a small table
    count_ = 0;
    mask_ = 0;
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t ref = 0;
  };
  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  void Place(uint32_t tag, uint32_t ref) {
    size_t i = tag & mask_;
    while (slots_[i].ref != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{tag, ref};
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.ref != 0) Place(s.tag, s.ref);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace flowstat::util
