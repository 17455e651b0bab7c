// Files: what the store's directory weighs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace flowstat::util {

// The bytes of the regular files in `dir` and below it (0 for what cannot be read).
inline uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace flowstat::util
