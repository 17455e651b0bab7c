// flowstat/formats.h — flow logs of other systems read as flow events (doc/formats.md).
//
// AWS VPC Flow Logs: records are fields separated by runs of spaces, `-` for absent. Without a header they are the
// default version-2 format; S3 delivery writes a first line naming the fields of any custom
// format, which is then read by name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowstat/event.h"
#include "flowstat/status.h"

namespace flowstat {

// Thread safety: a parser is used by one thread at a time.
class VpcFlowLogParser {
 public:
  explicit VpcFlowLogParser(std::string namespace_prefix = "/aws") : prefix_(std::move(namespace_prefix)) {}

  // Whether `line` names fields (a header) rather than holding a record.
  static bool IsHeader(std::string_view line);
  // Reads the field names of a custom format. InvalidArgument when it lacks `action` or `start`
  // (no flow event can be made without them) or names a field twice.
  Status SetHeader(std::string_view line);

  enum class Outcome { kEvent, kSkipped };
  // One record. kSkipped (with *skip_reason "NODATA" or "SKIPDATA") for a record that is not a
  // flow; InvalidArgument "field: reason" for a malformed one.
  Result<Outcome> Parse(std::string_view line, FlowEvent* event, std::string* skip_reason) const;

 private:
  int Index(std::string_view field) const;  // -1 when the format lacks it

  std::string prefix_;
  std::vector<std::string> fields_{"version", "account-id", "interface-id", "srcaddr",   "dstaddr",
                                   "srcport", "dstport",    "protocol",     "packets",   "bytes",
                                   "start",   "end",        "action",       "log-status"};
};

}  // namespace flowstat
