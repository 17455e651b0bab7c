// libFuzzer: the JSON-line parser. Never crashes; an accepted event survives FormatEventJson.
#include <cstdlib>
#include <string_view>

#include "flowstat/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  flowstat::FlowEvent e;
  if (!flowstat::ParseEventJson(line, &e).ok()) return 0;
  flowstat::FlowEvent again;
  if (!flowstat::ParseEventJson(flowstat::FormatEventJson(e), &again).ok() || !(again == e)) std::abort();
  return 0;
}
