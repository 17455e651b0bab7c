// Time text without allocation, for writers that format many times (a Serie's points).
#pragma once

#include <cstddef>
#include <cstdint>

namespace flowstat::schema {

// Room for any FormatTimeSeconds text: 20 bytes for years 0..9999, more for years beyond.
inline constexpr size_t kTimeSecondsTextMax = 64;

// Writes FormatTimeSeconds(epoch_ms) to `out` (not terminated); returns its length. A string of
// the 20-byte text would be a heap allocation each: it does not fit in a short string.
size_t FormatTimeSecondsTo(int64_t epoch_ms, char (&out)[kTimeSecondsTextMax]);

}  // namespace flowstat::schema
