// What other chunk layouts would cost, measured on the chunks of a real store: for each layout,
// the bytes before and after ZSTD (level 3, in blocks of the table's size, as the bottom level
// stores them) and the time to decompress them all on one core. A raw scan of a long window is
// bound by that decompression (doc/design.md), which runs at a near-constant rate per byte it
// produces: a layout that stores fewer bytes per event before compression is what makes it faster.
//
// usage: flowstat_chunk_layouts STORE   (a compacted store, opened read-only; nothing is written)
#include <rocksdb/db.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "schema/chunk.h"
#include "storage/event_store.h"
#include "storage/format.h"
#include "storage/keys.h"

namespace {

using flowstat::schema::EventRecord;

void PutVarint(std::string* out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>(v | 0x80));
  out->push_back(static_cast<char>(v));
}

// The best of 5 timed passes, in milliseconds; `pass(k)` runs pass k (from 0).
template <typename Pass>
double BestOfFiveMs(Pass&& pass) {
  double best_ms = 1e300;
  for (int k = 0; k < 5; ++k) {
    const auto start = std::chrono::steady_clock::now();
    pass(k);
    best_ms =
        std::min(best_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best_ms;
}

// One chunk: its key, its records and the first millisecond of its hour.
struct Chunk {
  std::string key;
  std::vector<EventRecord> records;
  int64_t hour_ms = 0;
};

// A chunk's fields as columns, one value per record.
using Columns = std::vector<std::vector<uint64_t>>;

// The fields every Serie and Repartition filters or sums on: source, destination, time (as the
// offset in the hour), value, namespace, tag lists, port, flags. With `deltas`, sources (sorted)
// as deltas, and a destination as the delta from the one before when the source repeats (records
// are sorted by source, then destination).
Columns HotColumns(const Chunk& c, bool deltas) {
  Columns cols(9);
  const EventRecord* previous = nullptr;
  for (const auto& r : c.records) {
    const bool same_source = previous && previous->source_id() == r.source_id();
    cols[0].push_back(deltas && previous ? r.source_id() - previous->source_id() : r.source_id());
    cols[1].push_back(deltas && same_source ? r.destination_id() - previous->destination_id() : r.destination_id());
    cols[2].push_back(static_cast<uint64_t>(r.time_ms() - c.hour_ms));
    cols[3].push_back(r.value());
    cols[4].push_back(r.namespace_id());
    cols[5].push_back(r.source_tags());
    cols[6].push_back(r.destination_tags());
    cols[7].push_back(r.destination_port());
    cols[8].push_back(r.flags());
    previous = &r;
  }
  return cols;
}

// The fields only `dump` and the details need.
Columns ColdColumns(const Chunk& c) {
  Columns cols(5);
  for (const auto& r : c.records) {
    cols[0].push_back(r.source_ip());
    cols[1].push_back(r.destination_ip());
    cols[2].push_back(r.details());
    cols[3].push_back(r.protocol());
    cols[4].push_back(r.endpoint_types());
  }
  return cols;
}

// One column after another, column i's values in bytes[i] bytes each (little-endian, the low bytes
// of the value), or as varints where bytes[i] is 0.
std::string Encoded(const Columns& columns, std::initializer_list<int> bytes) {
  std::string o;
  const int* width = bytes.begin();
  for (const auto& col : columns) {
    for (uint64_t v : col) {
      if (*width == 0) {
        PutVarint(&o, v);
      } else {
        o.append(reinterpret_cast<const char*>(&v), static_cast<size_t>(*width));
      }
    }
    ++width;
  }
  return o;
}

// Fixed width: time offset and value in 32 bits (every W2M value fits).
std::string HotFixed(const Chunk& c) { return Encoded(HotColumns(c, false), {4, 4, 4, 4, 4, 4, 4, 2, 2}); }
std::string ColdFixed(const Chunk& c) { return Encoded(ColdColumns(c), {4, 4, 4, 1, 1}); }
std::string HotPacked(const Chunk& c) { return Encoded(HotColumns(c, true), {0, 0, 0, 0, 0, 0, 0, 2, 0}); }
std::string ColdPacked(const Chunk& c) { return Encoded(ColdColumns(c), {0, 0, 0, 1, 1}); }

// Each column bit-packed at the width of its largest value in the chunk: a width byte, then the
// values LSB first.
std::string BitPacked(const Columns& columns) {
  std::string o;
  for (const auto& col : columns) {
    uint64_t largest = 0;
    for (uint64_t v : col) largest |= v;
    const int width = largest == 0 ? 0 : 64 - __builtin_clzll(largest);
    o.push_back(static_cast<char>(width));
    std::vector<uint64_t> words((col.size() * width + 63) / 64 + 1, 0);
    for (size_t i = 0; i < col.size(); ++i) {
      const size_t bit = i * width;
      words[bit / 64] |= col[i] << (bit % 64);
      if (bit % 64 + width > 64) words[bit / 64 + 1] |= col[i] >> (64 - bit % 64);
    }
    o.append(reinterpret_cast<const char*>(words.data()), (col.size() * width + 7) / 8);
  }
  return o;
}

std::string HotBitPacked(const Chunk& c) { return BitPacked(HotColumns(c, true)); }

// Every field bit-packed in one value: the layout that keeps a chunk's identity under one key.
std::string AllBitPacked(const Chunk& c) { return BitPacked(HotColumns(c, true)) + BitPacked(ColdColumns(c)); }

// Decodes every chunk's bit-packed hot columns (best of 5 passes); checks the round trip.
double TimeHotBitPackedDecode(const std::vector<Chunk>& chunks) {
  std::vector<std::string> encoded;
  for (const Chunk& c : chunks) encoded.push_back(HotBitPacked(c) + std::string(8, '\0'));  // slack to read words
  Columns cols(9);
  bool equal = true;
  const double best_ms = BestOfFiveMs([&](int pass) {
    for (size_t k = 0; k < chunks.size(); ++k) {
      const size_t n = chunks[k].records.size();
      const char* p = encoded[k].data();
      for (auto& col : cols) {
        const int width = static_cast<uint8_t>(*p++);
        const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
        col.resize(n);
        for (size_t i = 0; i < n; ++i) {
          const size_t bit = i * width;
          uint64_t lo, hi = 0;
          std::memcpy(&lo, p + bit / 8, 8);
          const int shift = static_cast<int>(bit % 8);
          if (shift + width > 64) hi = static_cast<uint8_t>(p[bit / 8 + 8]);
          col[i] = ((lo >> shift) | (shift ? hi << (64 - shift) : 0)) & mask;
        }
        p += (n * width + 7) / 8;
      }
      if (pass == 0) equal &= cols == HotColumns(chunks[k], true);
    }
  });
  if (!equal) std::printf("hot-bits: decoded columns differ from the records\n");
  return best_ms;
}

uint64_t GetVarint(const char** p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<uint8_t>(*(*p)++);
    v |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) return v;
  }
}

// Decodes every chunk's hot-packed columns back into records (best of 5 passes): what a scan of
// that layout would add to its decompression. Returns milliseconds; checks the round trip.
double TimeHotPackedDecode(const std::vector<Chunk>& chunks) {
  std::vector<std::string> encoded;
  for (const Chunk& c : chunks) encoded.push_back(HotPacked(c));
  std::vector<uint32_t> source, destination, offset, value, ns, source_tags, destination_tags;
  std::vector<uint16_t> port, flags;
  bool equal = true;
  const double best_ms = BestOfFiveMs([&](int pass) {
    for (size_t k = 0; k < chunks.size(); ++k) {
      const size_t n = chunks[k].records.size();
      const char* p = encoded[k].data();
      for (auto* column : {&source, &destination, &offset, &value, &ns, &source_tags, &destination_tags}) {
        column->resize(n);
      }
      port.resize(n);
      flags.resize(n);
      uint32_t before = 0;
      for (size_t i = 0; i < n; ++i) source[i] = before += static_cast<uint32_t>(GetVarint(&p));
      for (size_t i = 0; i < n; ++i) {
        const auto delta = static_cast<uint32_t>(GetVarint(&p));
        destination[i] = i > 0 && source[i] == source[i - 1] ? destination[i - 1] + delta : delta;
      }
      for (auto* column : {&offset, &value, &ns, &source_tags, &destination_tags}) {
        for (size_t i = 0; i < n; ++i) (*column)[i] = static_cast<uint32_t>(GetVarint(&p));
      }
      std::memcpy(port.data(), p, n * 2);
      p += n * 2;
      for (size_t i = 0; i < n; ++i) flags[i] = static_cast<uint16_t>(GetVarint(&p));
      if (pass == 0) {
        for (size_t i = 0; i < n; ++i) {
          const EventRecord& r = chunks[k].records[i];
          equal &= source[i] == r.source_id() && destination[i] == r.destination_id() &&
                   source_tags[i] == r.source_tags() && flags[i] == r.flags() && port[i] == r.destination_port();
        }
      }
    }
  });
  if (!equal) std::printf("hot-packed: decoded columns differ from the records\n");
  return best_ms;
}

std::string Rows(const Chunk& c) {
  return std::string(reinterpret_cast<const char*>(c.records.data()), c.records.size() * sizeof(EventRecord));
}

// Packs the encoded chunks, in key order, into blocks of about `block_bytes`, compresses each and
// times decompressing them all (best of 5 passes, one reused context).
void Measure(const char* name, const std::vector<Chunk>& chunks, const std::function<std::string(const Chunk&)>& encode,
             size_t block_bytes, size_t events) {
  std::vector<std::string> blocks(1);
  for (const Chunk& c : chunks) {
    if (blocks.back().size() >= block_bytes) blocks.emplace_back();
    blocks.back() += c.key + encode(c);
  }
  std::vector<std::string> compressed;
  size_t raw = 0, packed = 0, largest = 0;
  for (const std::string& b : blocks) {
    std::string z(ZSTD_compressBound(b.size()), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), b.data(), b.size(), 3));
    raw += b.size();
    packed += z.size();
    largest = std::max(largest, b.size());
    compressed.push_back(std::move(z));
  }
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string out(largest, '\0');
  const double best_ms = BestOfFiveMs([&](int) {
    size_t produced = 0;
    for (const std::string& z : compressed) {
      produced += ZSTD_decompressDCtx(context.get(), out.data(), out.size(), z.data(), z.size());
    }
    if (produced != raw) std::printf("%s: decompressed %zu bytes of %zu\n", name, produced, raw);
  });
  std::printf("%-11s %6.1f bytes/event raw, %5.2f after ZSTD; decompressing all: %6.1f ms on one core\n", name,
              double(raw) / events, double(packed) / events, best_ms);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE\n", argv[0]);
    return 2;
  }
  rocksdb::DB* opened = nullptr;
  rocksdb::Options options;
  if (auto s = rocksdb::DB::OpenForReadOnly(options, argv[1], &opened); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], s.ToString().c_str());
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(opened);
  std::vector<Chunk> chunks;
  size_t events = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, flowstat::storage::kChunkPrefix));
       it->Valid() && it->key()[0] == flowstat::storage::kChunkPrefix; it->Next()) {
    uint64_t ns = 0;
    uint8_t shard = 0;
    uint32_t hour = 0;
    flowstat::schema::ChunkRecords records;
    const std::string_view value(it->value().data(), it->value().size());
    if (!flowstat::storage::ParseChunkKey(std::string_view(it->key().data(), it->key().size()), &ns, &shard, &hour) ||
        !flowstat::schema::ReadChunkInPlace(value, &records).ok()) {
      std::fprintf(stderr, "%s: a chunk that does not read (merge operands left? run `flowstat compact`)\n", argv[1]);
      return 1;
    }
    Chunk& c = chunks.emplace_back();
    c.key = it->key().ToString();
    c.hour_ms = int64_t{hour} * flowstat::storage::kChunkMs;
    records.AppendTo(&c.records);
    events += c.records.size();
  }
  if (events == 0) {
    std::fprintf(stderr, "%s: no events\n", argv[1]);
    return 1;
  }
  std::printf("%zu events in %zu chunks, blocks of %zu bytes\n", events, chunks.size(),
              flowstat::storage::kTableBlockBytes);
  const size_t block = flowstat::storage::kTableBlockBytes;
  Measure("rows", chunks, Rows, block, events);
  Measure("hot", chunks, HotFixed, block, events);
  Measure("cold", chunks, ColdFixed, block, events);
  Measure("hot-packed", chunks, HotPacked, block, events);
  Measure("cold-packed", chunks, ColdPacked, block, events);
  Measure("hot-bits", chunks, HotBitPacked, block, events);
  Measure("all-bits", chunks, AllBitPacked, block, events);
  std::printf("hot-packed: decoding its columns back: %.1f ms on one core\n", TimeHotPackedDecode(chunks));
  std::printf("hot-bits: decoding its columns back: %.1f ms on one core\n", TimeHotBitPackedDecode(chunks));
  return 0;
}
