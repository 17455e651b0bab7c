// Checks of command-line values that CLI11 (Debian 12's 2.1) does not make itself.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace flowstat::tools {

// A whole number from `min` to `max`, in decimal digits. CLI11 2.1 reads "-1" into an unsigned
// option as its largest value and lets a number past the type's range through.
inline CLI::Validator WholeNumber(uint64_t min, uint64_t max = std::numeric_limits<uint64_t>::max()) {
  const bool unbounded = max == std::numeric_limits<uint64_t>::max();
  const std::string range =
      unbounded ? "at least " + std::to_string(min) : "from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool whole = !text.empty() && ec == std::errc() && end == text.data() + text.size();
        return whole && value >= min && value <= max ? "" : "must be a whole number, " + range;
      },
      min == 0 && unbounded ? "" : range, "WholeNumber");  // the help line: "UINT" says the rest
}

}  // namespace flowstat::tools
