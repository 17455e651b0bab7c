#include "storage/chunk_merge.h"

#include <cstring>
#include <vector>

#include "schema/chunk.h"
#include "storage/format.h"
#include "util/coding.h"

namespace flowstat::storage {
namespace {

// The records of one chunk buffer, in place; false if it does not verify.
bool Read(const rocksdb::Slice& value, std::vector<schema::ChunkRecords>* out) {
  out->emplace_back();
  return schema::ReadChunkInPlace(std::string_view(value.data(), value.size()), &out->back()).ok();
}

template <typename Operands>
bool Union(const rocksdb::Slice* existing, const Operands& operands, std::string* result) noexcept {
  try {
    std::vector<schema::ChunkRecords> chunks;
    chunks.reserve(operands.size() + 1);
    if (existing && !Read(*existing, &chunks)) return false;
    for (const rocksdb::Slice& op : operands) {
      if (!Read(op, &chunks)) return false;
    }
    schema::MergeChunks(chunks, result);
    return true;
  } catch (...) {  // allocation failure: report, never throw into RocksDB
    return false;
  }
}

template <typename Operands>
bool Sum(const rocksdb::Slice* existing, const Operands& operands, std::string* result) noexcept {
  uint64_t total = 0;
  auto add = [&](const rocksdb::Slice& s) {
    if (s.size() != 8) return false;
    total += util::DecodeFixed64(s.data());
    return true;
  };
  if (existing && !add(*existing)) return false;
  for (const rocksdb::Slice& op : operands) {
    if (!add(op)) return false;
  }
  try {
    *result = util::EncodeFixed64(total);
  } catch (...) {
    return false;
  }
  return true;
}

bool IsGenerationKey(const rocksdb::Slice& key) { return !key.empty() && key[0] == kGenerationPrefix; }

}  // namespace

bool ChunkMergeOperator::FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const {
  if (IsGenerationKey(in.key)) return Sum(in.existing_value, in.operand_list, &out->new_value);
  return Union(in.existing_value, in.operand_list, &out->new_value);
}

bool ChunkMergeOperator::PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                                           std::string* new_value, rocksdb::Logger*) const {
  if (IsGenerationKey(key)) return Sum(nullptr, operands, new_value);
  return Union(nullptr, operands, new_value);
}

}  // namespace flowstat::storage
