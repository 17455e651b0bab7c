// flowstat/formats.h — flow logs of other systems read as flow events (doc/formats.md).
//
// Three formats are read, line by line:
//  - "hubble": Cilium Hubble flows, `hubble observe -o jsonpb` lines ({"flow":{...},...}) or bare
//    `-o json` Flow objects. Namespaces go under /k8s by default.
//  - "vpc": AWS VPC Flow Logs, fields separated by runs of spaces, `-` for absent. Without a header
//    the records are of the default version-2 format; S3 delivery writes a first line naming the
//    fields of any custom format, which is then read by name. Namespaces go under /aws.
//  - "nfdump": `nfdump -o csv` of nfdump 1.6 to 1.7.4 (ts,te,td,sa,da,...) and of 1.7.5 and later
//    (firstSeen,duration,proto,...); its trailing summary block is skipped. Under /netflow.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flowstat/event.h"
#include "flowstat/status.h"

namespace flowstat {

// A reader of one flow log, fed its lines in order.
// Thread safety: a parser is used by one thread at a time.
class FlowLogParser {
 public:
  enum class Outcome {
    kEvent,    // *event holds the flow
    kSkipped,  // a record that is not a flow (a reply, NODATA, a summary line): *skip_reason says which
    kHeader,   // the line named the fields of the lines after it
  };
  virtual ~FlowLogParser() = default;

  // One line. InvalidArgument "field: reason" for a malformed record (later lines can still be
  // read); Incompatible for a header that cannot be read (no later line could be).
  virtual Result<Outcome> ParseLine(std::string_view line, FlowEvent* event, std::string* skip_reason) = 0;
};

// A parser of `format` ("hubble", "vpc" or "nfdump"); an empty `namespace_prefix` means the
// format's default. `time_zone` (nfdump only: it writes local times without an offset) is an IANA
// name such as "Europe/Zurich", or "UTC". InvalidArgument for an unknown format or zone.
Result<std::unique_ptr<FlowLogParser>> NewFlowLogParser(std::string_view format, std::string namespace_prefix,
                                                        std::string_view time_zone = "UTC");

// What the first line of an input looks like: "hubble", "vpc", "nfdump", "csv" (flowstat's own
// CSV) or "jsonl" (flowstat's JSON Lines, also the answer when nothing else matches).
std::string DetectFormat(std::string_view first_line);

// AWS VPC Flow Logs (see above).
class VpcFlowLogParser : public FlowLogParser {
 public:
  explicit VpcFlowLogParser(std::string namespace_prefix = "/aws") : prefix_(std::move(namespace_prefix)) {}

  // Whether `line` names fields (a header) rather than holding a record.
  static bool IsHeader(std::string_view line);
  // Reads the field names of a custom format. InvalidArgument when it lacks `action` or `start`
  // (no flow event can be made without them) or names a field twice.
  Status SetHeader(std::string_view line);

  // One record. kSkipped (with *skip_reason "NODATA" or "SKIPDATA") for a record that is not a
  // flow; InvalidArgument "field: reason" for a malformed one.
  Result<Outcome> Parse(std::string_view line, FlowEvent* event, std::string* skip_reason) const;

  // A header on the first line is read as one (SetHeader), every other line as a record (Parse).
  Result<Outcome> ParseLine(std::string_view line, FlowEvent* event, std::string* skip_reason) override;

 private:
  int Index(std::string_view field) const;  // -1 when the format lacks it

  std::string prefix_;
  bool first_line_ = true;
  std::vector<std::string> fields_{"version", "account-id", "interface-id", "srcaddr",   "dstaddr",
                                   "srcport", "dstport",    "protocol",     "packets",   "bytes",
                                   "start",   "end",        "action",       "log-status"};
};

}  // namespace flowstat
