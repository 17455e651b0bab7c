// A chunk: the events of one (namespace hash, hour) as one FlatBuffer (fb::Chunk), records sorted
// by CompareRecords and free of duplicates.
#pragma once

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
// Corruption if the buffer fails the FlatBuffers verifier or is not a chunk.
Status ReadChunk(std::string_view bytes, std::vector<uint64_t>* scratch, std::span<const EventRecord>* records);

// Sorts records by CompareRecords and removes duplicates; returns how many were removed.
size_t SortUnique(std::vector<EventRecord>* records);

}  // namespace flowstat::schema
