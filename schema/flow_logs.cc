// NewFlowLogParser and DetectFormat: choosing among the flow log formats of formats.h.
#include <date/tz.h>

#include <exception>

#include "schema/flow_logs.h"
#include "util/text.h"

namespace flowstat {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "YYYY-MM-DD HH:MM:SS" at the start of `text`, as nfdump writes times.
bool LooksLikeLocalTime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (text.size() < kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FlowLogParser>> NewFlowLogParser(std::string_view format, std::string namespace_prefix,
                                                        std::string_view time_zone) {
  auto prefix_or = [&](const char* fallback) { return namespace_prefix.empty() ? fallback : namespace_prefix; };
  if (format == "hubble") return schema::NewHubbleFlowParser(prefix_or("/k8s"));
  if (format == "vpc") return std::unique_ptr<FlowLogParser>(new VpcFlowLogParser(prefix_or("/aws")));
  if (format == "nfdump") {
    const date::time_zone* zone = nullptr;
    try {
      zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
      return Status::InvalidArgument("--timezone: unknown time zone '" + std::string(time_zone) +
                                     "' (an IANA name such as Europe/Zurich, or UTC)");
    }
    return schema::NewNfdumpCsvParser(prefix_or("/netflow"), zone);
  }
  return Status::InvalidArgument("unknown flow log format '" + std::string(format) + "'");
}

std::string DetectFormat(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "jsonl";
  line.remove_prefix(first);
  if (line[0] == '{') {
    // flowstat's events name their endpoints sourceID/destinationID; Hubble's lines wrap a flow,
    // or are a Flow whose members have other names.
    if (line.find("\"sourceID\"") != std::string_view::npos) return "jsonl";
    for (std::string_view key : {"\"flow\"", "\"verdict\"", "\"node_name\"", "\"Type\"", "\"l4\""}) {
      if (line.find(key) != std::string_view::npos) return "hubble";
    }
    return "jsonl";
  }
  if (StartsWith(line, "ts,te,td,") || StartsWith(line, "firstSeen,")) return "nfdump";
  if (LooksLikeLocalTime(line) && line.find(',') != std::string_view::npos)
    return "nfdump";  // `nfdump -q -o csv`: no header
  if (VpcFlowLogParser::IsHeader(line) && line.find("action") != std::string_view::npos) return "vpc";
  if (line[0] >= '0' && line[0] <= '9' && line.find(',') == std::string_view::npos &&
      line.find(' ') != std::string_view::npos) {
    return "vpc";  // a record of the default format: "2 123456789010 eni-... ..."
  }
  return line.find(',') != std::string_view::npos ? "csv" : "jsonl";
}

}  // namespace flowstat
