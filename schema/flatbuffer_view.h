// Reading stored FlatBuffers in place. FlatBuffers read their scalars where they lie, so the bytes
// must be 8-byte aligned; RocksDB values and dictionary payloads need not be.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <vector>

#include <flatbuffers/flatbuffers.h>

namespace flowstat::schema {

// `bytes` itself when 8-byte aligned, else an aligned copy held in *scratch.
inline const uint8_t* AlignedBytes(std::string_view bytes, std::vector<uint64_t>* scratch) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (reinterpret_cast<uintptr_t>(data) % 8 == 0) return data;
  scratch->resize(bytes.size() / 8 + 1);
  std::memcpy(scratch->data(), bytes.data(), bytes.size());
  return reinterpret_cast<const uint8_t*>(scratch->data());
}

// The root of a buffer of type Root that passes the FlatBuffers verifier (and carries
// `identifier`, when given), else nullptr. Valid while `bytes` and `scratch` live.
template <typename Root>
const Root* VerifiedRoot(std::string_view bytes, std::vector<uint64_t>* scratch, const char* identifier = nullptr) {
  const uint8_t* data = AlignedBytes(bytes, scratch);
  flatbuffers::Verifier verifier(data, bytes.size());
  return verifier.VerifyBuffer<Root>(identifier) ? flatbuffers::GetRoot<Root>(data) : nullptr;
}

// The FlatBuffers verifier checks a vector's length field for 4-byte alignment only, so the
// elements of a damaged vector of 8-byte scalars or structs could lie 4 bytes off where they may be
// read. True when `v` is absent, empty or has its elements at their alignment.
template <typename T>
bool ElementsAligned(const flatbuffers::Vector<T>* v) {
  using Element = std::remove_cv_t<std::remove_pointer_t<T>>;
  return !v || v->size() == 0 || reinterpret_cast<uintptr_t>(v->Data()) % alignof(Element) == 0;
}

// ElementsAligned of the vector `field` of each table in `tables`.
template <typename Tables, typename Field>
bool EachElementsAligned(const Tables* tables, Field field) {
  if (!tables) return true;
  for (const auto* t : *tables) {
    if (!ElementsAligned((t->*field)())) return false;
  }
  return true;
}

}  // namespace flowstat::schema
