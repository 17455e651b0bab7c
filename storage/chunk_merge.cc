#include "storage/chunk_merge.h"

#include <cstring>
#include <vector>

#include "schema/chunk.h"
#include "storage/format.h"
#include "util/coding.h"

namespace flowstat::storage {
namespace {

using schema::EventRecord;

// Appends the records of one chunk buffer; false if it does not verify.
bool Collect(const rocksdb::Slice& value, std::vector<EventRecord>* out) {
  schema::ChunkRecords records;
  if (!schema::ReadChunkInPlace(std::string_view(value.data(), value.size()), &records).ok()) return false;
  records.AppendTo(out);
  return true;
}

template <typename Operands>
bool Union(const rocksdb::Slice* existing, const Operands& operands, std::string* result) noexcept {
  try {
    std::vector<EventRecord> records, scratch;
    std::vector<size_t> run_ends;  // each operand is a sorted, duplicate-free run
    run_ends.reserve(operands.size() + 1);
    if (existing) {
      if (!Collect(*existing, &records)) return false;
      run_ends.push_back(records.size());
    }
    for (const rocksdb::Slice& op : operands) {
      if (!Collect(op, &records)) return false;
      run_ends.push_back(records.size());
    }
    schema::SortUniqueRuns(&records, run_ends, &scratch);
    *result = schema::BuildChunk(records);
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
