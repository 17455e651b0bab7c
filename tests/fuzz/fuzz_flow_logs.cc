// libFuzzer: the parsers of other systems' flow logs (hubble, vpc, nfdump). The first byte picks
// the format (and, for nfdump, a zone with daylight-saving gaps); the rest is the log, line by line.
// Never crashes or hangs; an event a parser returns that validates survives a JSON round trip.
// Seeds (corpus/flow_logs): the files of tests/data/formats, whose READMEs quote their sources,
// each behind its format byte.
#include <cstdlib>
#include <string>
#include <string_view>

#include "flowstat/event.h"
#include "flowstat/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr const char* kFormats[] = {"hubble", "vpc", "nfdump", "nfdump"};
  static constexpr const char* kZones[] = {"UTC", "UTC", "UTC", "Europe/Zurich"};
  const unsigned choice = data[0] % 4;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parser = flowstat::NewFlowLogParser(kFormats[choice], "", kZones[choice]);
  if (!parser.ok()) std::abort();  // every format and zone above is known
  (void)flowstat::DetectFormat(text.substr(0, text.find('\n')));
  flowstat::FlowEvent event;
  std::string skip_reason;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    auto outcome = (*parser)->ParseLine(text.substr(0, nl), &event, &skip_reason);
    if (outcome.ok() && *outcome == flowstat::FlowLogParser::Outcome::kEvent && flowstat::ValidateEvent(&event).ok()) {
      flowstat::FlowEvent again;
      if (!flowstat::ParseEventJson(flowstat::FormatEventJson(event), &again).ok() || !(again == event)) std::abort();
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 0;
}
