#include "storage/table_check.h"

#include <xxhash.h>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace flowstat::storage {
namespace {

// The block-based table footer of format_version 1..5 (RocksDB's table/format.h), 53 bytes:
// checksum type (1), metaindex and index BlockHandles as varint64 pairs, zero padding up to
// byte 41, format_version (fixed32 LE), magic number (fixed64 LE).
constexpr size_t kFooterSize = 53;
constexpr uint64_t kBlockBasedTableMagic = 0x88e241b785f4cff7ull;
constexpr uint64_t kBlockTrailerSize = 5;   // compression type + checksum after each block
constexpr unsigned char kXXH3Checksum = 4;  // every flowstat table is written with it: a footer
                                            // claiming "no checksum" must not switch checks off

bool Varint64(const unsigned char*& p, const unsigned char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    const unsigned char byte = *p++;
    *v |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

// A BlockHandle (two varint64) whose block and trailer lie within the first `limit` bytes.
bool ReadHandle(const unsigned char*& p, const unsigned char* end, uint64_t limit, BlockHandle* h) {
  return Varint64(p, end, &h->offset) && Varint64(p, end, &h->size) && h->offset <= limit && h->size <= limit &&
         h->offset + h->size + kBlockTrailerSize <= limit;
}

// Reads block `h` and checks its trailer: RocksDB's XXH3 block checksum (format_version <= 5) is
// the low 32 bits of XXH3_64 over the block, with the trailer's compression-type byte mixed in.
bool ReadVerifiedBlock(std::ifstream& in, const BlockHandle& h, std::string* block) {
  constexpr uint64_t kMaxMetaBlockBytes = 16 << 20;  // real ones hold a few KB: bigger is damage
  if (h.size > kMaxMetaBlockBytes) return false;
  block->resize(h.size + kBlockTrailerSize);
  in.seekg(static_cast<std::streamoff>(h.offset));
  if (!in.read(block->data(), static_cast<std::streamsize>(block->size()))) return false;
  const auto type = static_cast<unsigned char>((*block)[h.size]);
  uint32_t stored;
  std::memcpy(&stored, block->data() + h.size + 1, 4);
  const auto computed = static_cast<uint32_t>(XXH3_64bits(block->data(), h.size)) ^ (uint32_t{type} * 0x6b9083d9u);
  block->resize(h.size);
  return stored == computed;
}

// The handle stored under `name` in a metaindex block (RocksDB's block format: entries of
// shared / non-shared key lengths and value length as varint32, key delta, value; then the
// restart array and its count). False when absent or malformed.
bool FindMetaHandle(const std::string& block, std::string_view name, uint64_t limit, BlockHandle* h) {
  if (block.size() < 4) return false;
  uint32_t restarts;
  std::memcpy(&restarts, block.data() + block.size() - 4, 4);
  restarts &= 0x7fffffffu;  // the high bit flags a data-block hash index
  if (restarts > (block.size() - 4) / 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(block.data());
  const unsigned char* end = p + block.size() - 4 - 4 * uint64_t{restarts};
  std::string key;
  while (p < end) {
    uint64_t shared, non_shared, value_size;
    if (!Varint64(p, end, &shared) || !Varint64(p, end, &non_shared) || !Varint64(p, end, &value_size) ||
        shared > key.size() || non_shared > static_cast<uint64_t>(end - p) ||
        value_size > static_cast<uint64_t>(end - p) - non_shared) {
      return false;
    }
    key.resize(shared);
    key.append(reinterpret_cast<const char*>(p), non_shared);
    p += non_shared;
    const unsigned char* value = p;
    p += value_size;
    if (key == name) return ReadHandle(value, p, limit, h);
  }
  return false;
}

// RocksDB checks block checksums before parsing blocks, except the properties block, which it
// parses first (to allow for ingested files whose properties were rewritten): that one, and the
// metaindex block that locates it, are checked here.
bool TableOk(const std::string& file) {
  std::error_code ec;
  const uint64_t length = std::filesystem::file_size(file, ec);
  if (ec || length < kFooterSize) return false;
  unsigned char footer[kFooterSize];
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(length - kFooterSize));
  if (!in.read(reinterpret_cast<char*>(footer), kFooterSize)) return false;
  uint64_t magic;
  uint32_t version;
  std::memcpy(&magic, footer + kFooterSize - 8, 8);
  std::memcpy(&version, footer + kFooterSize - 12, 4);
  if (magic != kBlockBasedTableMagic || version < 1 || version > 5 || footer[0] != kXXH3Checksum) return false;
  const unsigned char* p = footer + 1;
  const unsigned char* end = footer + kFooterSize - 12;
  const uint64_t limit = length - kFooterSize;
  BlockHandle metaindex, index, properties;
  std::string block;
  if (!ReadHandle(p, end, limit, &metaindex) || !ReadHandle(p, end, limit, &index) ||
      !ReadVerifiedBlock(in, metaindex, &block)) {
    return false;
  }
  if (!FindMetaHandle(block, "rocksdb.properties", limit, &properties)) return false;
  return ReadVerifiedBlock(in, properties, &block);
}

class TableCheckingFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "FlowstatTableChecking"; }

  rocksdb::IOStatus NewRandomAccessFile(const std::string& file, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override {
    const bool table = file.size() > 4 && file.compare(file.size() - 4, 4, ".sst") == 0;
    if (table && !TableOk(file)) {
      return rocksdb::IOStatus::Corruption(file + ": damaged table file (footer, metaindex or properties)");
    }
    return target()->NewRandomAccessFile(file, options, result, dbg);
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewTableCheckingEnv() {
  return rocksdb::NewCompositeEnv(std::make_shared<TableCheckingFileSystem>(rocksdb::FileSystem::Default()));
}

}  // namespace flowstat::storage
