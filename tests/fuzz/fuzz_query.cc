// libFuzzer: query parameters, as --batch lines and as flag values.
#include <string>
#include <string_view>

#include "flowstat/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  flowstat::Query q;
  if (flowstat::ParseQueryJson(text, &q).ok()) (void)flowstat::ResolveWindow(q);
  // Flags: the first byte picks a parameter, the rest is its value.
  static const char* kNames[] = {
      "namespace",  "recursive",       "startAbsolute", "endAbsolute",   "startRelative",  "endRelative",
      "flowOffset", "averageInterval", "metric",        "type",          "action",         "flowMode",
      "sourceTags", "destinationTags", "sourceID",      "destinationID", "userIdentifier", "limit",
      "now"};
  if (size > 0) {
    flowstat::Query f;
    f.namespace_ = "/";
    (void)flowstat::SetQueryParameter(&f, kNames[data[0] % (sizeof kNames / sizeof *kNames)], text.substr(1));
    if (flowstat::ValidateQuery(&f).ok()) (void)flowstat::ResolveWindow(f);
  }
  return 0;
}
