#include "schema/chunk.h"

#include "schema/flatbuffer_view.h"

#include <algorithm>

namespace flowstat::schema {

std::string BuildChunk(std::span<const EventRecord> records) {
  flatbuffers::FlatBufferBuilder b(records.size() * sizeof(EventRecord) + 64);
  auto vec = b.CreateVectorOfStructs(records.data(), records.size());
  b.Finish(fb::CreateChunk(b, vec), fb::ChunkIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

Status ReadChunk(std::string_view bytes, std::vector<uint64_t>* scratch, std::span<const EventRecord>* records) {
  const fb::Chunk* chunk = VerifiedRoot<fb::Chunk>(bytes, scratch, fb::ChunkIdentifier());
  if (!chunk) return Status::Corruption("chunk fails verification");
  const auto* events = chunk->events();
  *records = events ? std::span<const EventRecord>(reinterpret_cast<const EventRecord*>(events->Data()), events->size())
                    : std::span<const EventRecord>();
  return Status::Ok();
}

size_t SortUnique(std::vector<EventRecord>* records) {
  std::sort(records->begin(), records->end(), RecordLess);
  auto end = std::unique(records->begin(), records->end(),
                         [](const EventRecord& a, const EventRecord& b) { return CompareRecords(a, b) == 0; });
  size_t removed = static_cast<size_t>(records->end() - end);
  records->erase(end, records->end());
  return removed;
}

}  // namespace flowstat::schema
