#include "storage/table_check.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace flowstat::storage {
namespace {

// The block-based table footer of format_version 1..5 (RocksDB's table/format.h), 53 bytes:
// checksum type (1), metaindex and index BlockHandles as varint64 pairs, zero padding up to
// byte 41, format_version (fixed32 LE), magic number (fixed64 LE).
constexpr size_t kFooterSize = 53;
constexpr uint64_t kBlockBasedTableMagic = 0x88e241b785f4cff7ull;
constexpr uint64_t kBlockTrailerSize = 5;  // compression type + checksum after each block
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

bool HandleInside(const unsigned char*& p, const unsigned char* end, uint64_t limit) {
  uint64_t offset, size;
  return Varint64(p, end, &offset) && Varint64(p, end, &size) && offset <= limit && size <= limit &&
         offset + size + kBlockTrailerSize <= limit;
}

bool FooterOk(const std::filesystem::path& file) {
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
  return HandleInside(p, end, limit) && HandleInside(p, end, limit);
}

// When the current MANIFEST was last written. A table file is recorded there only after it was
// fully written and synced, so a live table is never newer than the MANIFEST; a newer one is a
// table a crash interrupted, which RocksDB never opens (and deletes when opened for writing).
std::optional<std::filesystem::file_time_type> ManifestTime(const std::filesystem::path& dir) {
  std::ifstream current(dir / "CURRENT");
  std::string name;
  if (!std::getline(current, name) || name.empty()) return std::nullopt;
  std::error_code ec;
  auto t = std::filesystem::last_write_time(dir / name, ec);
  return ec ? std::nullopt : std::optional(t);
}

}  // namespace

Status CheckTableFooters(const std::string& dir) {
  std::error_code ec;
  const auto manifest_time = ManifestTime(dir);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".sst") continue;
    if (manifest_time && entry.last_write_time(ec) > *manifest_time) continue;  // crash leftover
    if (!FooterOk(entry.path())) {
      return Status::Corruption(entry.path().string() + ": damaged table file (bad footer)");
    }
  }
  return Status::Ok();
}

}  // namespace flowstat::storage
