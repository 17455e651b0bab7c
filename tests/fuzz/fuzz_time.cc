// libFuzzer: times and durations. A parsed time formats and parses back to its second.
#include <cstdlib>
#include <string_view>

#include "flowstat/event.h"
#include "flowstat/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = flowstat::ParseTime(text);
  if (t.ok()) {
    auto back = flowstat::ParseTime(flowstat::FormatTimeSeconds(*t));
    if (!back.ok() || *back != *t / 1000 * 1000) std::abort();
  }
  (void)flowstat::ParseDuration(text);
  return 0;
}
