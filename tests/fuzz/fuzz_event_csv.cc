// libFuzzer: the CSV parser. The first line is the header, every other line a row.
#include <string_view>

#include "flowstat/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  flowstat::CsvEventParser parser;
  size_t nl = text.find('\n');
  if (!parser.SetHeader(text.substr(0, nl)).ok() || nl == std::string_view::npos) return 0;
  text.remove_prefix(nl + 1);
  flowstat::FlowEvent e;
  while (!text.empty()) {
    nl = text.find('\n');
    (void)parser.Parse(text.substr(0, nl), &e);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 0;
}
