// Rendering FlowStatistic lists for the terminal: json (doc/queries.md), table, csv, and pictures.
#pragma once

#include <string>
#include <vector>

#include "flowstat/query.h"

namespace flowstat::tools {

// The list in `format` ("json", "table" or "csv"), ending with a newline.
std::string FormatStatistics(const std::vector<FlowStatistic>& list, const std::string& format);

// `list` drawn as `format` "svg" or "chart" (the terminal: as wide as COLUMNS or the tty, coloured
// when writing to a terminal without NO_COLOR, ASCII only with `ascii`).
std::string DrawStatistics(const std::vector<FlowStatistic>& list, const Query& query, const std::string& format,
                           bool ascii, bool to_terminal);

// Writes `text` to `path`, or standard output when empty. Returns the exit code: 0, or 1 with a
// message on standard error.
int WriteOutput(const std::string& text, const std::string& path);

// {"error": "message"} — a --batch line's answer to a bad query.
std::string ErrorJson(const std::string& message);

}  // namespace flowstat::tools
