// Fixed-width integers in bytes: little-endian inside values (as the host writes them; the build
// refuses big-endian hosts), big-endian inside keys (so that RocksDB's bytewise order is numeric
// order). doc/storage-format.md says which is used where.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace flowstat::util {

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::string EncodeFixed64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

// Appends the low `bytes` bytes of `v`, most significant first.
inline void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads `bytes` bytes at `pos` of `s`, most significant first.
inline uint64_t GetBigEndian(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

}  // namespace flowstat::util
