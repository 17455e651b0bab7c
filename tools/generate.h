// `flowstat generate`: deterministic, realistic synthetic flow events as JSON Lines.
#pragma once

#include <cstdint>
#include <cstdio>

namespace flowstat::tools {

struct GenerateOptions {
  uint64_t events = 1000;
  uint64_t seed = 1;
  double days = 7;
  int64_t end_ms = 1763596800000;  // 2025-11-20T00:00:00Z
  uint32_t pus = 2000;
};

// Writes options.events lines to `out`. The same options always give the same bytes.
void Generate(const GenerateOptions& options, std::FILE* out);

}  // namespace flowstat::tools
