#include "schema/chunk.h"

#include "schema/flatbuffer_view.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <type_traits>

namespace flowstat::schema {

namespace {

// What FlatBufferBuilder writes before the records of a Chunk of one or more records, 32 bytes:
// the root offset (20, the table), the file identifier, 6 bytes of padding that put the records
// 8-byte aligned, the vtable (its size 6, the table's size 8, field 0 at 4), the table (the signed
// distance 6 back to the vtable, the distance 4 on to the vector), the vector's length. Writing
// it directly saves the builder's copy of every record; a test compares it with the builder's.
constexpr size_t kChunkHeaderSize = 32;

void WriteChunkHeader(uint32_t count, char* out) {
  const uint32_t root = 20, from_table = 4;
  const int32_t to_vtable = 6;
  const uint16_t vtable[3] = {6, 8, fb::Chunk::VT_EVENTS};
  std::memcpy(out, &root, 4);
  std::memcpy(out + 4, fb::ChunkIdentifier(), flatbuffers::kFileIdentifierLength);
  std::memset(out + 8, 0, 6);
  std::memcpy(out + 14, vtable, sizeof vtable);
  std::memcpy(out + 20, &to_vtable, 4);
  std::memcpy(out + 24, &from_table, 4);
  std::memcpy(out + 28, &count, 4);
}

}  // namespace

std::string BuildChunk(std::span<const EventRecord> records) {
  static_assert(std::endian::native == std::endian::little, "FlatBuffers scalars are written as they lie");
  if (records.empty()) {  // FlatBufferBuilder aligns nothing then: 28 bytes
    flatbuffers::FlatBufferBuilder b(64);
    auto vec = b.CreateVectorOfStructs(records.data(), records.size());
    b.Finish(fb::CreateChunk(b, vec), fb::ChunkIdentifier());
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }
  std::string out(kChunkHeaderSize + records.size_bytes(), '\0');
  WriteChunkHeader(static_cast<uint32_t>(records.size()), out.data());
  std::memcpy(out.data() + kChunkHeaderSize, records.data(), records.size_bytes());
  return out;
}

Status ReadChunk(std::string_view bytes, std::vector<uint64_t>* scratch, std::span<const EventRecord>* records) {
  const fb::Chunk* chunk = VerifiedRoot<fb::Chunk>(bytes, scratch, fb::ChunkIdentifier());
  if (!chunk) return Status::Corruption("chunk fails verification");
  const auto* events = chunk->events();
  if (!ElementsAligned(events)) return Status::Corruption("chunk records misaligned");
  *records = events ? std::span<const EventRecord>(reinterpret_cast<const EventRecord*>(events->Data()), events->size())
                    : std::span<const EventRecord>();
  return Status::Ok();
}

namespace {

// A little-endian scalar at `at` of `bytes`, wherever it lies.
template <typename T>
T LoadScalar(std::string_view bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

// Whether [at, at + length) lies inside a buffer of `size` bytes, without overflow; as strict as
// flatbuffers::Verifier::Verify, so that both accept the same buffers.
bool Inside(size_t size, size_t at, size_t length) { return length < size && at <= size - length; }

}  // namespace

Status ReadChunkInPlace(std::string_view bytes, ChunkRecords* records) {
  static_assert(std::endian::native == std::endian::little, "FlatBuffers scalars are read as they lie");
  static_assert(std::is_trivially_copyable_v<EventRecord>);
  const Status corrupt = Status::Corruption("chunk fails verification");
  *records = ChunkRecords();
  const size_t size = bytes.size();
  // The buffer: the root table's offset, then the file identifier.
  if (size < 2 * sizeof(uint32_t) || size >= FLATBUFFERS_MAX_BUFFER_SIZE) return corrupt;
  if (std::memcmp(bytes.data() + 4, fb::ChunkIdentifier(), flatbuffers::kFileIdentifierLength) != 0) return corrupt;
  const uint32_t table = LoadScalar<uint32_t>(bytes, 0);
  if (table == 0 || table > INT32_MAX || !Inside(size, table, sizeof(int32_t))) return corrupt;
  // The table starts with the signed distance back to its vtable: the vtable's size, the table's,
  // then one field offset per field (the records' vector is field 0).
  const size_t vtable = table - static_cast<size_t>(static_cast<int64_t>(LoadScalar<int32_t>(bytes, table)));
  if (!Inside(size, vtable, sizeof(uint16_t))) return corrupt;
  const uint16_t vtable_size = LoadScalar<uint16_t>(bytes, vtable);
  if (vtable_size % 2 != 0 || !Inside(size, vtable, vtable_size)) return corrupt;
  constexpr size_t kEventsField = fb::Chunk::VT_EVENTS;
  const uint16_t field = kEventsField < vtable_size ? LoadScalar<uint16_t>(bytes, vtable + kEventsField) : 0;
  if (field == 0) return Status::Ok();  // no records
  // The field holds the distance to the vector: its length, then the records.
  const size_t at = size_t{table} + field;
  if (!Inside(size, at, sizeof(uint32_t))) return corrupt;
  const uint32_t to_vector = LoadScalar<uint32_t>(bytes, at);
  if (to_vector == 0 || to_vector > INT32_MAX || !Inside(size, at + to_vector, sizeof(uint32_t))) return corrupt;
  const size_t vector = at + to_vector;
  const uint32_t count = LoadScalar<uint32_t>(bytes, vector);
  if (count >= FLATBUFFERS_MAX_BUFFER_SIZE / sizeof(EventRecord) ||
      !Inside(size, vector, sizeof(uint32_t) + size_t{count} * sizeof(EventRecord))) {
    return corrupt;
  }
  records->data_ = bytes.data() + vector + sizeof(uint32_t);
  records->count_ = count;
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

namespace {

// A k-way merge of sorted runs into `out`, one record of each repeat kept; the number of records
// written, or nullopt when a run is out of order. `heap_` holds the indices of the runs not yet
// used up, a min-heap by their next record (ties by index); the smallest is replaced by its run's
// next record and sifted down, one comparison per level.
class RunMerger {
 public:
  explicit RunMerger(std::span<const ChunkRecords> runs) : runs_(runs), heads_(runs.size()), next_(runs.size(), 1) {
    for (uint32_t run = 0; run < runs.size(); ++run) {
      if (runs[run].size() == 0) continue;
      heads_[run] = runs[run][0];
      heap_.push_back(run);
    }
    for (size_t i = heap_.size() / 2; i-- > 0;) SiftDown(i);
  }

  std::optional<size_t> Merge(char* out) {
    size_t kept = 0;
    EventRecord last;
    while (!heap_.empty()) {
      const uint32_t run = heap_[0];
      const int order = kept == 0 ? -1 : CompareRecords(last, heads_[run]);
      if (order > 0) return std::nullopt;  // the merge of sorted runs never goes down
      if (order < 0) {
        last = heads_[run];
        std::memcpy(out + kept++ * sizeof(EventRecord), static_cast<const void*>(&last), sizeof(EventRecord));
      }
      if (next_[run] < runs_[run].size()) {
        heads_[run] = runs_[run][next_[run]++];
      } else {
        heap_[0] = heap_.back();
        heap_.pop_back();
      }
      SiftDown(0);
    }
    return kept;
  }

 private:
  bool Before(uint32_t a, uint32_t b) const {
    const int order = CompareRecords(heads_[a], heads_[b]);
    return order != 0 ? order < 0 : a < b;
  }

  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    while (2 * i + 1 < n) {
      size_t child = 2 * i + 1;
      if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
      if (!Before(heap_[child], heap_[i])) return;
      std::swap(heap_[i], heap_[child]);
      i = child;
    }
  }

  std::span<const ChunkRecords> runs_;
  std::vector<EventRecord> heads_;  // each run's next record
  std::vector<size_t> next_;        // each run's index of the record after its head
  std::vector<uint32_t> heap_;
};

}  // namespace

size_t MergeChunks(std::span<const ChunkRecords> chunks, std::string* out) {
  size_t total = 0;
  for (const ChunkRecords& chunk : chunks) total += chunk.size();
  if (total == 0) {
    *out = BuildChunk({});
    return 0;
  }
  out->resize(kChunkHeaderSize + total * sizeof(EventRecord));
  if (std::optional<size_t> kept = RunMerger(chunks).Merge(out->data() + kChunkHeaderSize)) {
    WriteChunkHeader(static_cast<uint32_t>(*kept), out->data());
    out->resize(kChunkHeaderSize + *kept * sizeof(EventRecord));
    if (out->capacity() / 2 > out->size()) out->shrink_to_fit();  // more than half were repeats
    return total - *kept;
  }
  // A damaged chunk: sort everything. What the merge dropped so far were repeats, as here.
  out->clear();
  out->shrink_to_fit();
  std::vector<EventRecord> records;
  records.reserve(total);
  for (const ChunkRecords& chunk : chunks) chunk.AppendTo(&records);
  const size_t removed = SortUnique(&records);
  *out = BuildChunk(records);
  return removed;
}

}  // namespace flowstat::schema
