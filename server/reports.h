// POST /flowreports: a request body to flow events (doc/http.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowstat/event.h"

namespace flowstat::server {

// One rejected event: its position in the body (from 0) and why.
struct EventError {
  size_t index;
  std::string description;
};

struct ParsedReports {
  std::vector<FlowEvent> events;
  std::vector<EventError> errors;  // empty when every event is valid
  std::string body_error;          // set when the body itself is unreadable (not JSON, not an array)
};

// Parses `body`: a JSON array of event objects, or JSON Lines (one object per line, blank lines
// skipped). `content_type` chooses ("application/x-ndjson" is JSON Lines, "application/json" an
// array); any other type is recognized by the first character. Every event is checked.
ParsedReports ParseReports(std::string_view body, std::string_view content_type);

}  // namespace flowstat::server
