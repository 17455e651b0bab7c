// HashIndex: an open-addressing table from 64-bit hashes to non-zero 32-bit references, for
// string -> id maps whose strings the caller stores. Faster and smaller than a node-based map on
// the write path's millions of lookups; the caller decides what a reference's key is. A slot is
// 8 bytes: 32 bits of the hash (which also pick the probe position) and the reference.
// BasicHashIndex<const char*> holds pointers instead (16-byte slots): a lookup then reads the
// entry the slot names directly, one dependent memory access fewer than through a vector.
#pragma once

#include <cstdint>
#include <vector>

namespace flowstat::util {

template <typename Ref>
class BasicHashIndex {
 public:
  // The first reference inserted with `hash` for which matches(ref) is true, else Ref{} (0).
  template <typename Matches>
  Ref Find(uint64_t hash, Matches&& matches) const {
    if (slots_.empty()) return Ref{};
    for (size_t i = Tag(hash) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.ref == Ref{}) return Ref{};
      if (s.tag == Tag(hash) && matches(s.ref)) return s.ref;
    }
  }

  // The reference in the slot a Find of `hash` reads first when that slot carries `hash`'s tag,
  // else Ref{}: what a lookup will most likely compare, for prefetching it.
  Ref FirstCandidate(uint64_t hash) const {
    if (slots_.empty()) return Ref{};
    const Slot& s = slots_[Tag(hash) & mask_];
    return s.tag == Tag(hash) ? s.ref : Ref{};
  }

  // Starts loading the slot a Find of `hash` reads first.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Tag(hash) & mask_]);
  }

  // REQUIRES: ref != Ref{} and no equal key inserted before.
  void Insert(uint64_t hash, Ref ref) {
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
    Ref ref{};
  };
  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  void Place(uint32_t tag, Ref ref) {
    size_t i = tag & mask_;
    while (slots_[i].ref != Ref{}) i = (i + 1) & mask_;
    slots_[i] = Slot{tag, ref};
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.ref != Ref{}) Place(s.tag, s.ref);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

using HashIndex = BasicHashIndex<uint32_t>;

}  // namespace flowstat::util
