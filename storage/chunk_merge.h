// The store's merge operator. On chunk keys ('C'): the union of the events of every operand,
// sorted, without duplicates — what makes appends blind (no read before write) and imports
// idempotent: an event merged twice is stored once. On generation keys ('G'): the sum of
// 64-bit little-endian counters.
//
// Never throws: any failure, including a verification failure of an operand, makes the merge
// return false, which RocksDB reports as Corruption to the reader.
#pragma once

#include <rocksdb/merge_operator.h>

namespace flowstat::storage {

class ChunkMergeOperator final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "flowstat.Merge.v1"; }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override;
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands, std::string* new_value,
                         rocksdb::Logger* logger) const override;
  bool AllowSingleOperand() const override { return false; }
};

}  // namespace flowstat::storage
