// libFuzzer: the partial-answer wire format (doc/partial-format.md), as `flowstat merge` and
// `serve --shards` read it from other processes. Decoding never crashes; a partial that decodes
// merges with itself and finishes into an answer without crashing or growing without bound.
#include <string_view>
#include <vector>

#include "flowstat/partial.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto partial = flowstat::DecodePartial(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!partial.ok()) return 0;
  (void)flowstat::FinishPartial(*partial);
  auto merged = flowstat::MergePartials(std::vector<flowstat::Partial>{*partial, *partial});
  if (merged.ok()) (void)flowstat::FinishPartial(*merged);
  return 0;
}
