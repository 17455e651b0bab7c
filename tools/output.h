// Rendering FlowStatistic lists for the terminal: json (doc/queries.md), table, csv.
#pragma once

#include <string>
#include <vector>

#include "flowstat/query.h"

namespace flowstat::tools {

// The list in `format` ("json", "table" or "csv"), ending with a newline.
std::string FormatStatistics(const std::vector<FlowStatistic>& list, const std::string& format);

// {"error": "message"} — a --batch line's answer to a bad query.
std::string ErrorJson(const std::string& message);

}  // namespace flowstat::tools
