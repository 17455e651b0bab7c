#include "storage/chunk_merge.h"

#include <vector>

#include "schema/chunk.h"

namespace flowstat::storage {
namespace {

using schema::EventRecord;

// Appends the records of one chunk buffer; false if it does not verify.
bool Collect(const rocksdb::Slice& value, std::vector<uint64_t>* scratch, std::vector<EventRecord>* out) {
  std::span<const EventRecord> records;
  if (!schema::ReadChunk(std::string_view(value.data(), value.size()), scratch, &records).ok()) return false;
  out->insert(out->end(), records.begin(), records.end());
  return true;
}

template <typename Operands>
bool Union(const rocksdb::Slice* existing, const Operands& operands, std::string* result) noexcept {
  try {
    std::vector<EventRecord> records;
    std::vector<uint64_t> scratch;
    if (existing && !Collect(*existing, &scratch, &records)) return false;
    for (const rocksdb::Slice& op : operands) {
      if (!Collect(op, &scratch, &records)) return false;
    }
    schema::SortUnique(&records);
    *result = schema::BuildChunk(records);
    return true;
  } catch (...) {  // allocation failure: report, never throw into RocksDB
    return false;
  }
}

}  // namespace

bool ChunkMergeOperator::FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const {
  return Union(in.existing_value, in.operand_list, &out->new_value);
}

bool ChunkMergeOperator::PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                                           std::string* new_value, rocksdb::Logger*) const {
  return Union(nullptr, operands, new_value);
}

}  // namespace flowstat::storage
