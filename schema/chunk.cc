#include "schema/chunk.h"

#include "schema/flatbuffer_view.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

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

// Merges [a, a_end) and [b, b_end) into `out`, a's record first of two equal ones. Defined for
// runs out of order too: each run's records keep their order, so the result is sorted exactly when
// both runs are.
void MergeTwo(const EventRecord* a, const EventRecord* a_end, const EventRecord* b, const EventRecord* b_end,
              EventRecord* out) {
  while (a != a_end && b != b_end) *out++ = RecordLess(*b, *a) ? *b++ : *a++;
  out = std::copy(a, a_end, out);
  std::copy(b, b_end, out);
}

}  // namespace

size_t SortUniqueRuns(std::vector<EventRecord>* records, std::span<const size_t> run_ends,
                      std::vector<EventRecord>* scratch) {
  std::vector<size_t> ends;
  ends.reserve(run_ends.size());
  for (size_t end : run_ends) {
    if (end < (ends.empty() ? 0 : ends.back()) || end > records->size()) return SortUnique(records);
    ends.push_back(end);
  }
  if ((ends.empty() ? 0 : ends.back()) != records->size()) return SortUnique(records);
  // Bottom-up: each pass merges runs two by two from *records into *scratch, then swaps them.
  scratch->resize(records->size());
  while (ends.size() > 1) {
    size_t from = 0, kept = 0;
    for (size_t i = 0; i < ends.size(); i += 2) {
      const size_t middle = ends[i], end = i + 1 < ends.size() ? ends[i + 1] : middle;
      EventRecord* r = records->data();
      MergeTwo(r + from, r + middle, r + middle, r + end, scratch->data() + from);
      ends[kept++] = end;
      from = end;
    }
    ends.resize(kept);
    records->swap(*scratch);
  }
  // One pass drops repeats and checks the order: the merge came out sorted exactly when every run
  // was. A run out of order (a damaged chunk) leaves the rest to a whole sort; what was dropped
  // so far were repeats, which it would have dropped too.
  EventRecord* r = records->data();
  const size_t n = records->size();
  size_t kept = n == 0 ? 0 : 1;
  for (size_t i = 1; i < n; ++i) {
    const int order = CompareRecords(r[kept - 1], r[i]);
    if (order < 0) {
      r[kept++] = r[i];
    } else if (order > 0) {
      records->erase(records->begin() + static_cast<ptrdiff_t>(kept), records->begin() + static_cast<ptrdiff_t>(i));
      return (i - kept) + SortUnique(records);
    }
  }
  records->resize(kept);
  return n - kept;
}

}  // namespace flowstat::schema
