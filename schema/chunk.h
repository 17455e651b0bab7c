// A chunk: the events of one (namespace hash, hour) as one FlatBuffer (fb::Chunk), records sorted
// by CompareRecords and free of duplicates.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schema/record.h"

namespace flowstat::schema {

// Serializes sorted, duplicate-free records into a Chunk buffer.
std::string BuildChunk(std::span<const EventRecord> records);

// Verifies a stored Chunk buffer and returns a view of its records, valid while `bytes` and
// `scratch` live (a misaligned buffer is first copied into `scratch`: records are read in place).
// Corruption if the buffer fails the FlatBuffers verifier, is not a chunk, or its records are not
// 8-byte aligned (which the verifier does not check).
Status ReadChunk(std::string_view bytes, std::vector<uint64_t>* scratch, std::span<const EventRecord>* records);

// A chunk's records where they lie, in a buffer of any alignment. RocksDB hands out values at any
// address, and FlatBuffers structs may only be read 8-byte aligned: ReadChunk copies such a chunk
// whole before it is read, which took a fifth of a week-long raw scan. These copy each record out
// as it is read instead. Valid while the buffer lives.
class ChunkRecords {
 public:
  size_t size() const { return count_; }
  EventRecord operator[](size_t i) const {
    EventRecord r;
    std::memcpy(static_cast<void*>(&r), data_ + i * sizeof(EventRecord), sizeof(EventRecord));
    return r;
  }
  // Asks the CPU to start loading record i, if there is one (a hint: no effect on results). A
  // scan prefetches records ahead: chunks are small and scattered over the block cache, so the
  // hardware prefetcher, which needs a run of misses to start, finds little to do.
  void Prefetch(size_t i) const {
    if (i < count_) __builtin_prefetch(data_ + i * sizeof(EventRecord));
  }
  // Appends every record to *out, in one copy.
  void AppendTo(std::vector<EventRecord>* out) const {
    const size_t old_size = out->size();
    out->resize(old_size + count_);
    if (count_ != 0) std::memcpy(static_cast<void*>(out->data() + old_size), data_, count_ * sizeof(EventRecord));
  }

 private:
  friend Status ReadChunkInPlace(std::string_view bytes, ChunkRecords* records);
  const char* data_ = nullptr;
  size_t count_ = 0;
};

// Checks what the FlatBuffers verifier checks of a Chunk buffer — that every offset and the
// records lie inside it — but for alignment, and gives its records in place. Corruption otherwise.
Status ReadChunkInPlace(std::string_view bytes, ChunkRecords* records);

// Sorts records by CompareRecords and removes duplicates; returns how many were removed.
size_t SortUnique(std::vector<EventRecord>* records);

// The union of chunks — each sorted and duplicate-free, as stored — as one such chunk, in *out:
// the merge operator's work. A k-way merge writes the records straight into *out, so the records
// are held once (besides the chunks themselves) while merging. A chunk out of order (a damaged
// one) is found during the merge; the records are then sorted whole. Returns how many repeats
// were dropped. REQUIRES: *out holds none of the chunks' bytes (it is resized before they are read).
size_t MergeChunks(std::span<const ChunkRecords> chunks, std::string* out);

}  // namespace flowstat::schema
