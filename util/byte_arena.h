// ByteArena: bytes allocated from blocks that never move, so views into them stay valid until
// Reset (or the arena's end) however much is allocated after them. No per-allocation overhead.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace flowstat::util {

class ByteArena {
 public:
  explicit ByteArena(size_t block_bytes = 256 << 10) : block_bytes_(block_bytes) {}

  // `n` bytes, stable until Reset. A request larger than a block gets a block of its own.
  char* Allocate(size_t n) {
    for (; current_ < blocks_.size(); passed_ += blocks_[current_].size, ++current_, used_ = 0) {
      Block& b = blocks_[current_];
      if (b.size - used_ >= n) {
        char* at = b.bytes.get() + used_;
        used_ += n;
        return at;
      }
    }
    const size_t size = n > block_bytes_ ? n : block_bytes_;
    blocks_.push_back(Block{std::make_unique<char[]>(size), size});
    current_ = blocks_.size() - 1;
    used_ = n;
    return blocks_.back().bytes.get();
  }

  std::string_view Copy(std::string_view s) {
    char* at = Allocate(s.size());
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    return std::string_view(at, s.size());
  }

  // Forgets every allocation; keeps the regular blocks for reuse and frees oversized ones.
  void Reset() {
    std::erase_if(blocks_, [&](const Block& b) { return b.size > block_bytes_; });
    current_ = 0;
    used_ = 0;
    passed_ = 0;
  }

  // Bytes handed out since the last Reset, with the ends of the blocks they left unused.
  size_t used_bytes() const { return passed_ + used_; }

 private:
  struct Block {
    std::unique_ptr<char[]> bytes;
    size_t size;
  };

  size_t block_bytes_;
  std::vector<Block> blocks_;
  size_t current_ = 0;  // the block being filled
  size_t used_ = 0;     // bytes used in it
  size_t passed_ = 0;   // the sizes of the blocks before it
};

}  // namespace flowstat::util
