// The parsers of flow logs of other systems behind flowstat::NewFlowLogParser (formats.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "flowstat/formats.h"

namespace date {
class time_zone;
}  // namespace date

namespace flowstat::schema {

std::unique_ptr<FlowLogParser> NewHubbleFlowParser(std::string namespace_prefix);
// `zone`: where nfdump's local times were written; never null.
std::unique_ptr<FlowLogParser> NewNfdumpCsvParser(std::string namespace_prefix, const date::time_zone* zone);

}  // namespace flowstat::schema
